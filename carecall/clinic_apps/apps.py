from django.apps import AppConfig


class ClinicAppsConfig(AppConfig):
    name = "carecall.clinic_apps"
    label = "clinic_apps"
