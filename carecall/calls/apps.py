from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "carecall.calls"
    label = "calls"

    def ready(self) -> None:
        from datetime import timedelta

        from carecall.calls.access_events import access_events_connect
        from carecall.calls.navigation import NAVIGATION
        from carecall.core.navigation import nav_entries_register
        from carecall.jobs.registry import Job, periodic_job_register

        nav_entries_register(*NAVIGATION)
        # Visits whose patient has been gone 30 minutes are ended.
        periodic_job_register(
            Job("visits_abandon", timedelta(minutes=1), "carecall.calls.tasks.visits_abandon_task")
        )

        access_events_connect()
