from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "carecall.payments"
    label = "payments"

    def ready(self) -> None:
        # The in-call tool registers itself in the call's Apps and tools drawer.
        from datetime import timedelta

        from carecall.audit.actions import audit_actions_register
        from carecall.core.navigation import nav_entries_register
        from carecall.jobs.registry import Inbox, Job, inbox_register, periodic_job_register
        from carecall.notifications.signals import email_sent
        from carecall.orgs.clinic_settings_sections import clinic_settings_section_register
        from carecall.orgs.signals import clinic_currency_changing
        from carecall.payments import call_tool  # noqa: F401
        from carecall.payments.audit_actions import PaymentAction
        from carecall.payments.clinic_settings import currency_change_refuse_while_connected
        from carecall.payments.clinic_settings_section import SECTION
        from carecall.payments.navigation import NAVIGATION
        from carecall.payments.services.receipt_email import receipt_mark_sent
        from carecall.payments.webhooks import (
            STRIPE_EVENT_BATCH,
            inbox_arrived,
            stripe_events_process_due,
        )

        audit_actions_register(PaymentAction)
        nav_entries_register(*NAVIGATION)
        clinic_settings_section_register(SECTION)
        # "Receipt sent" is recorded when the receipt really went out (outbox), not before.
        email_sent.connect(receipt_mark_sent, dispatch_uid="payments.receipt_mark_sent")
        clinic_currency_changing.connect(
            currency_change_refuse_while_connected, dispatch_uid="payments.currency_lock"
        )
        # Stripe's webhook events: the view only stores them; the worker's inbox threads
        # (or cron's `carecall jobs run`) process them.
        inbox_register(
            Inbox(
                "stripe-events",
                take=stripe_events_process_due,
                batch=STRIPE_EVENT_BATCH,
                arrived=inbox_arrived,
            )
        )
        # Stuck requests re-read from Stripe, overdue ones expired, pending refunds.
        periodic_job_register(
            Job(
                "payments_reconcile",
                timedelta(minutes=2),
                "carecall.payments.tasks.payments_reconcile_task",
            )
        )
        # Webhook events that changed nothing, older than WEBHOOK_EVENT_RETENTION_DAYS.
        periodic_job_register(
            Job(
                "stripe_events_prune",
                timedelta(hours=1),
                "carecall.payments.tasks.stripe_events_prune_task",
            )
        )
