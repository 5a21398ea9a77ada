"""orgs' entries in the shared navigation, and who sees the entries of a clinic's page."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from carecall.accounts.models import User
from carecall.core.navigation import NavEntry
from carecall.orgs.access import ClinicAccess


def clinic_managers(access: ClinicAccess) -> bool:
    """Organisation and clinic admins of the clinic (not clinicians)."""
    return access.can_manage


def operators(user: User) -> bool:
    return user.is_staff


NAVIGATION = (
    NavEntry("header", "operator", _("Operator"), "orgs:operator_organisations", 10, operators),
    NavEntry("operator", "organisations", _("Organisations"), "orgs:operator_organisations", 10),
    NavEntry(
        "organisation", "clinic_create", _("New clinic"), "orgs:clinic_create", 10, primary=True
    ),
    NavEntry(
        "clinic",
        "members",
        _("Members"),
        "orgs:clinic_members",
        30,
        clinic_managers,
        primary=True,
        home_label=_("Members of %(clinic)s"),
    ),
    NavEntry(
        "clinic",
        "settings",
        _("Clinic settings"),
        "orgs:clinic_edit",
        40,
        clinic_managers,
        home_label=_("Settings of %(clinic)s"),
    ),
)
