"""The audit trail's entries (registered in AuditConfig.ready())."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from carecall.core.navigation import NavEntry
from carecall.orgs.navigation import operators

NAVIGATION = (
    NavEntry("header", "audit", _("Audit trail"), "audit:operator", 30, operators),
    NavEntry("organisation", "audit", _("Audit trail"), "audit:organisation", 30),
)
