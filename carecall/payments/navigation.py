"""payments' entries on clinic and organisation pages (registered in PaymentsConfig.ready())."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from carecall.core.navigation import NavEntry
from carecall.orgs.navigation import clinic_managers

NAVIGATION = (
    NavEntry(
        "clinic",
        "payments",
        _("Payments"),
        "payments:clinic_payments",
        20,
        home_label=_("Payments of %(clinic)s"),
    ),
    NavEntry(
        "clinic",
        "customer_payments",
        _("Configure › Customer payments"),
        "payments:customer_payments",
        60,
        clinic_managers,
        home_label=_("Customer payments of %(clinic)s"),
    ),
    NavEntry("organisation", "payments", _("Payments"), "payments:org_payments", 40),
    NavEntry("organisation", "report", _("Report"), "payments:org_report", 50),
)
