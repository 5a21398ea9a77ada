"""Permissions for platform operators.

Operators are plain `is_staff` users, not superusers, and hold no Django permission rows. This
backend grants active staff every model permission, so the Django admin shows them what it shows
a superuser. Admin classes that refuse changes themselves (the audit trail's `has_*_permission`
returning False) stay read-only: Django asks the admin class, not this backend, first.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser


def _is_operator(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_active and getattr(user, "is_staff", False))


class StaffOperatorBackend(BaseBackend):
    """Never authenticates anyone; only answers permission questions for active staff."""

    def has_perm(
        self, user_obj: AbstractBaseUser | AnonymousUser, perm: str, obj: Any = None
    ) -> bool:
        return _is_operator(user_obj)

    def has_module_perms(self, user_obj: AbstractBaseUser | AnonymousUser, app_label: str) -> bool:
        return _is_operator(user_obj)
