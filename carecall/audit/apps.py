from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "carecall.audit"
    label = "audit"
