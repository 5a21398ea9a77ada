"""The kernel's member changes in the audit trail: recorded from orgs' `member_changed` signal,
in the change's own transaction (orgs, below audit, never imports it)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from carecall.accounts.models import User
from carecall.audit.services import audit_record
from carecall.orgs.models import Clinic, Organisation


class MemberAction(models.TextChoices):
    MEMBER_ADDED = "member.added", _("Member added")
    MEMBER_ROLE_CHANGED = "member.role_changed", _("Role changed")
    MEMBER_REMOVED = "member.removed", _("Member removed")


def member_change_record(
    sender: object,
    *,
    change: str,
    actor: User | None,
    organisation: Organisation,
    clinic: Clinic | None,
    user: User,
    summary: str,
    **kwargs: Any,
) -> None:
    audit_record(
        action=MemberAction(f"member.{change}"),
        actor=actor,
        organisation=organisation,
        clinic=clinic,
        target=f"user:{user.pk}",
        summary=summary,
    )
