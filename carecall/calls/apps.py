from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "carecall.calls"
    label = "calls"

    def ready(self) -> None:
        from carecall.calls.access_events import access_events_connect

        access_events_connect()
