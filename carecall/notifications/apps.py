from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "carecall.notifications"
    label = "notifications"

    def ready(self) -> None:
        from datetime import timedelta

        from carecall.jobs.registry import Job, periodic_job_register

        # Outbox emails whose (re)try is due; sent rows purged after 30 days.
        periodic_job_register(
            Job(
                "email_outbox_send",
                timedelta(minutes=1),
                "carecall.notifications.tasks.email_outbox_send_task",
            )
        )
