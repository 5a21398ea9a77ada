from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "carecall.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from carecall.core.navigation import NavEntry, nav_entries_register

        nav_entries_register(NavEntry("operator", "admin", _("Django admin"), "admin:index", 90))
