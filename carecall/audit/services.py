from __future__ import annotations

from typing import Any

from carecall.accounts.models import User
from carecall.audit.actions import audit_action_is_registered
from carecall.audit.models import AuditEntry
from carecall.orgs.models import Clinic, Organisation


def audit_record(
    *,
    action: str,
    summary: str,
    actor: User | None,
    actor_label: str = "",
    organisation: Organisation | None = None,
    clinic: Clinic | None = None,
    target: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one entry, in the caller's transaction: it exists only if the change does.

    `action` is a code some app registered (`audit_actions_register`); any other is refused."""
    if not audit_action_is_registered(action):
        raise ValueError(f"no app registered the audit action {action!r}")
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
