from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "carecall.calls"
    label = "calls"

    def ready(self) -> None:
        from carecall.calls.access_events import access_events_connect
        from carecall.calls.navigation import NAVIGATION
        from carecall.core.navigation import nav_entries_register

        nav_entries_register(*NAVIGATION)

        access_events_connect()
