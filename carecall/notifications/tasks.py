"""The notifications app's periodic task (registered in NotificationsConfig.ready())."""

from __future__ import annotations

from django_tasks import task

from carecall.notifications.services import email_outbox_send_due


@task()
def email_outbox_send_task() -> dict[str, int]:
    return email_outbox_send_due()
