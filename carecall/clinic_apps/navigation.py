"""clinic_apps' entries (registered in ClinicAppsConfig.ready())."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from carecall.core.navigation import NavEntry
from carecall.orgs.navigation import clinic_managers, operators

NAVIGATION = (
    NavEntry(
        "header", "app_requests", _("App requests"), "clinic_apps:operator_queue", 20, operators
    ),
    NavEntry("operator", "app_requests", _("App requests"), "clinic_apps:operator_queue", 20),
    NavEntry("organisation", "apps", _("Apps"), "clinic_apps:organisation_apps", 20),
    NavEntry("clinic", "apps", _("Apps"), "clinic_apps:clinic_apps", 70, clinic_managers),
)
