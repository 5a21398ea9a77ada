"""calls' entries on a clinic's page (registered in CallsConfig.ready())."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from carecall.core.navigation import NavEntry
from carecall.orgs.navigation import clinic_managers

NAVIGATION = (
    NavEntry(
        "clinic",
        "waiting_area",
        _("Waiting area"),
        "calls:waiting_area",
        10,
        primary=True,
        home_label=_("Waiting area of %(clinic)s"),
    ),
    NavEntry(
        "clinic",
        "waiting_area_settings",
        _("Waiting area settings"),
        "calls:waiting_area_settings",
        50,
        clinic_managers,
    ),
)
