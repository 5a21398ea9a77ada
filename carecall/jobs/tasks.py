"""The periodic jobs' tasks the workers run (Django's tasks interface; `django_tasks_db` stores
them). Webhook events are not tasks: the workers take the inbox itself (`payments/webhooks.py`).

Thin: each calls one service. Arguments and results are JSON (they are stored in the queue)."""

from __future__ import annotations

from django_tasks import task


@task()
def email_outbox_send_task() -> dict[str, int]:
    from carecall.notifications.services import email_outbox_send_due

    return email_outbox_send_due()


@task()
def payments_reconcile_task() -> dict[str, int]:
    from carecall.payments.services import payments_reconcile

    return payments_reconcile()


@task()
def visits_abandon_task() -> int:
    from carecall.calls.services import visits_abandon

    return visits_abandon()


@task()
def retention_task() -> dict[str, int]:
    from carecall.jobs.schedule import task_results_prune
    from carecall.payments.webhooks import stripe_events_prune

    return {"stripe_events": stripe_events_prune(), "task_results": task_results_prune()}
