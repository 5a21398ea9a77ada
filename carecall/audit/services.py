from __future__ import annotations

from typing import Any

from carecall.accounts.models import User
from carecall.audit.models import AuditAction, AuditEntry
from carecall.orgs.models import Clinic, Organisation


def audit_record(
    *,
    action: AuditAction,
    summary: str,
    actor: User | None,
    actor_label: str = "",
    organisation: Organisation | None = None,
    clinic: Clinic | None = None,
    target: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one entry, in the caller's transaction: it exists only if the change does."""
    if organisation is None and clinic is not None:
        organisation = clinic.organisation
    label = actor_label or (f"{actor.get_full_name()} <{actor.email}>" if actor else "CareCall")
    return AuditEntry.objects.create(
        action=action,
        summary=summary[:500],
        actor=actor,
        actor_label=label[:200],
        organisation=organisation,
        clinic=clinic,
        target=target[:80],
        data=data or {},
    )
