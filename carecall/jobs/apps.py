from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "carecall.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
