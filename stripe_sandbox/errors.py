"""Stripe's error shapes: API errors (`{"error": {...}}`) and OAuth errors (`{"error": "code"}`)."""

from __future__ import annotations

from typing import Any

DOC_BASE = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    """An API error rendered as Stripe renders it.

    `executed` marks errors raised after the operation changed state (a card decline records
    the failed charge on the PaymentIntent); Stripe saves those for idempotent replay, while
    validation errors are never saved so the caller may fix and retry with the same key.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        executed: bool = False,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.executed = executed
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = DOC_BASE + self.code.replace("_", "-")
        if self.decline_code:
            err["decline_code"] = self.decline_code
        if self.param:
            err["param"] = self.param
        err.update(self.extra)
        return {"error": err}


class OAuthError(Exception):
    """Connect OAuth errors use a flat shape; the SDK tells them apart by `error` being a string."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


def resource_missing(kind: str, object_id: str, param: str) -> StripeError:
    return StripeError(
        f"No such {kind}: '{object_id}'", status=404, code="resource_missing", param=param
    )


def parameter_unknown(name: str) -> StripeError:
    return StripeError(f"Received unknown parameter: {name}", code="parameter_unknown", param=name)


def parameter_missing(name: str) -> StripeError:
    return StripeError(f"Missing required param: {name}.", code="parameter_missing", param=name)


def masked(key: str) -> str:
    """Stripe never echoes a whole key back: `sk_live_********************1234`."""
    prefix = "_".join(key.split("_")[:2]) + "_" if key.count("_") >= 2 else ""
    tail = key[-4:] if len(key) > len(prefix) + 4 else ""
    return prefix + "*" * max(len(key) - len(prefix) - len(tail), 0) + tail
