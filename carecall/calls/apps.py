from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "carecall.calls"
    label = "calls"
