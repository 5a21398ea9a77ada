from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "carecall.payments"
    label = "payments"

    def ready(self) -> None:
        # The in-call tool registers itself in the call's Apps and tools drawer.
        from carecall.audit.actions import audit_actions_register
        from carecall.core.navigation import nav_entries_register
        from carecall.notifications.signals import email_sent
        from carecall.orgs.clinic_settings_sections import clinic_settings_section_register
        from carecall.orgs.signals import clinic_currency_changing
        from carecall.payments import call_tool  # noqa: F401
        from carecall.payments.audit_actions import PaymentAction
        from carecall.payments.clinic_settings import currency_change_refuse_while_connected
        from carecall.payments.clinic_settings_section import SECTION
        from carecall.payments.navigation import NAVIGATION
        from carecall.payments.services import receipt_mark_sent

        audit_actions_register(PaymentAction)
        nav_entries_register(*NAVIGATION)
        clinic_settings_section_register(SECTION)
        # "Receipt sent" is recorded when the receipt really went out (outbox), not before.
        email_sent.connect(receipt_mark_sent, dispatch_uid="payments.receipt_mark_sent")
        clinic_currency_changing.connect(
            currency_change_refuse_while_connected, dispatch_uid="payments.currency_lock"
        )
