from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "carecall.orgs"
    label = "orgs"

    def ready(self) -> None:
        from carecall.core.navigation import nav_entries_register
        from carecall.orgs.navigation import NAVIGATION

        nav_entries_register(*NAVIGATION)
