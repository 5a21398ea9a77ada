"""Users in the Django admin (invitations: carecall/orgs/admin.py).

Platform operators (staff, not superusers) may look at every user and invitation, and change a
user's name and whether the account is active (to lock a compromised account). Nothing else:
not email or password (either would hand them someone's account), not staff or superuser
status, groups or permissions, and not a superuser's row at all. Invitations are made through
the app (`invitation_create`), so their admin is read-only for them.
"""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from carecall.accounts.models import User


def _is_superuser(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_superuser", False))


# What an operator sees on a user but may not change.
OPERATOR_READONLY_USER_FIELDS = [
    *("email", "is_staff", "is_superuser", "groups", "user_permissions"),
    *("last_login", "date_joined"),
]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "full_name", "password")}),
        (_("Access"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),
    )
    filter_horizontal = ("groups",)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or _is_superuser(request):
            return fieldsets
        # No password field (and so no link to the set-password page) for operators.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "password"]})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not _is_superuser(request):
            fields += [name for name in OPERATOR_READONLY_USER_FIELDS if name not in fields]
        return fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        # People get accounts by accepting an invitation.
        return _is_superuser(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not _is_superuser(request):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_superuser(request) and super().has_delete_permission(request, obj)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        # Setting someone's password is taking over their account: superusers only. Operators
        # change their own on the admin's "Change password" page, which asks for the old one.
        if not _is_superuser(request):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)
