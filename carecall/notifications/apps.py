from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "carecall.notifications"
    label = "notifications"
