from django.apps import AppConfig


class ClinicAppsConfig(AppConfig):
    name = "carecall.clinic_apps"
    label = "clinic_apps"

    def ready(self) -> None:
        from carecall.audit.actions import audit_actions_register
        from carecall.clinic_apps.audit_actions import AppAction
        from carecall.clinic_apps.navigation import NAVIGATION
        from carecall.core.navigation import nav_entries_register

        audit_actions_register(AppAction)
        nav_entries_register(*NAVIGATION)
