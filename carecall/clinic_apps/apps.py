from django.apps import AppConfig


class ClinicAppsConfig(AppConfig):
    name = "carecall.clinic_apps"
    label = "clinic_apps"

    def ready(self) -> None:
        from carecall.audit.actions import audit_actions_register
        from carecall.clinic_apps.audit_actions import AppAction
        from carecall.clinic_apps.demo import demo_app_requests_seed
        from carecall.clinic_apps.navigation import NAVIGATION
        from carecall.core.navigation import nav_entries_register
        from carecall.orgs.demo import demo_seeder_register

        audit_actions_register(AppAction)
        nav_entries_register(*NAVIGATION)
        demo_seeder_register("clinic_apps", demo_app_requests_seed)
