from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "carecall.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.urls import register_converter
        from django.utils.translation import gettext_lazy as _

        from carecall.core.converters import IdConverter
        from carecall.core.log_masking import access_log_mask

        access_log_mask()

        # Before any URL configuration is read: `<id:...>` in every app's urls.py.
        register_converter(IdConverter, "id")

        from carecall.core.navigation import NavEntry, nav_entries_register

        nav_entries_register(NavEntry("operator", "admin", _("Django admin"), "admin:index", 90))
