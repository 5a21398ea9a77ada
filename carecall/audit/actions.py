"""The audit actions: each app registers its own codes and labels from its AppConfig.ready().

An app declares its actions as a `TextChoices` (`payments.audit_actions.PaymentAction`, …) and
calls `audit_actions_register(TheChoices)`; `AuditEntry.action`'s choices are the registry's
(a callable, so a new action needs no migration). `audit_record` refuses a code nobody
registered, so a typo fails at once instead of writing an entry no page can label.
"""

from __future__ import annotations

from django.db import models
from django.utils.functional import Promise

_REGISTRY: dict[str, str | Promise] = {}


def audit_actions_register(actions: type[models.TextChoices]) -> None:
    for action in actions:
        label = actions(action).label
        if _REGISTRY.get(action.value, label) != label:
            raise ValueError(f"the audit action {action.value!r} is registered already")
        _REGISTRY[action.value] = label


def audit_action_choices() -> list[tuple[str, str | Promise]]:
    """Every registered action, in registration order (the order the apps are installed in)."""
    return list(_REGISTRY.items())


def audit_action_is_registered(code: str) -> bool:
    return code in _REGISTRY
