"""Errors that services raise for people to read."""


class ServiceError(Exception):
    """A request that breaks a business rule. The message is shown to the person as it is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
