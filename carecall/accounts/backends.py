"""Permissions for platform operators.

Operators are plain `is_staff` users, not superusers, and hold no Django permission rows. This
backend lets active staff *view* every model in the Django admin, and change only what is on
`OPERATOR_CHANGE_PERMISSIONS`; it never grants add or delete. Structural changes (who belongs
to which organisation, with which role; organisations themselves; who is staff) go through the
audited app services, not the admin. Admin classes narrow further: which fields of a clinic or a
user an operator may edit, and that superusers' rows are untouchable (`accounts.admin`,
`orgs.admin`). Superusers are unaffected: Django grants them everything before asking backends.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

# The only changes (beyond viewing) an operator may make through the admin, each narrowed to
# operational fields by its admin class: a clinic's name, time zone, contact details and waiting
# area (`orgs.admin.ClinicAdmin`), and a user's name and whether the account is active
# (`accounts.admin.UserAdmin`: locking a compromised account).
OPERATOR_CHANGE_PERMISSIONS = frozenset({"orgs.change_clinic", "accounts.change_user"})


def _is_operator(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_active and getattr(user, "is_staff", False))


def operator_may(perm: str) -> bool:
    """Whether an operator holds `perm` ("app_label.codename")."""
    _app_label, _, codename = perm.partition(".")
    return codename.startswith("view_") or perm in OPERATOR_CHANGE_PERMISSIONS


class StaffOperatorBackend(BaseBackend):
    """Never authenticates anyone; only answers permission questions for active staff."""

    def has_perm(
        self, user_obj: AbstractBaseUser | AnonymousUser, perm: str, obj: Any = None
    ) -> bool:
        return _is_operator(user_obj) and operator_may(perm)

    def has_module_perms(self, user_obj: AbstractBaseUser | AnonymousUser, app_label: str) -> bool:
        # Every app's models can at least be viewed.
        return _is_operator(user_obj)
