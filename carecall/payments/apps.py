from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "carecall.payments"
    label = "payments"

    def ready(self) -> None:
        # The in-call tool registers itself in the call's Apps and tools drawer.
        from carecall.payments import call_tool  # noqa: F401
