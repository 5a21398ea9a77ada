from django.apps import AppConfig


class ClinicAppsConfig(AppConfig):
    name = "carecall.clinic_apps"
    label = "clinic_apps"

    def ready(self) -> None:
        from carecall.audit.actions import audit_actions_register
        from carecall.clinic_apps.audit_actions import AppAction

        audit_actions_register(AppAction)
