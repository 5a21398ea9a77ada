"""The payments app's periodic tasks (registered in PaymentsConfig.ready(), with the webhook
inbox the worker drains)."""

from __future__ import annotations

from django_tasks import task

from carecall.payments.services.reconcile import payments_reconcile
from carecall.payments.webhooks import stripe_events_prune


@task()
def payments_reconcile_task() -> dict[str, int]:
    return payments_reconcile()


@task()
def stripe_events_prune_task() -> int:
    return stripe_events_prune()
