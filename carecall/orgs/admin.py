"""Organisations, clinics, memberships and invitations in the Django admin.

Platform operators (staff, not superusers) may look at all of them but change only a clinic's
operational fields. Organisations and memberships change through the app's audited services
(invitations, role changes, "never without an admin"), so their admins are read-only for anyone
but a superuser, whatever permissions a backend or group might grant.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from carecall.orgs.models import Clinic, Invitation, Membership, Organisation


def _is_superuser(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_superuser", False))


class SuperuserWritesOnly(admin.ModelAdmin):
    """Viewable by operators; added, changed and deleted only by superusers."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_superuser(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_superuser(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_superuser(request) and super().has_delete_permission(request, obj)


@admin.register(Organisation)
class OrganisationAdmin(SuperuserWritesOnly):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name"]


# What only a superuser may change on a clinic: where it belongs, its public link, money, and
# what patients see on receipts (clinic admins set those on the clinic's validated, audited
# settings page).
CLINIC_SUPERUSER_FIELDS = [
    *("organisation", "slug", "currency", "payment_max_amount"),
    *("contact_email", "contact_phone"),
]


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "slug", "timezone", "currency"]
    list_filter = ["organisation"]
    search_fields = ["name"]
    # Set on the clinic's waiting-area settings page, which validates it (hours, fields); raw
    # JSON here would bypass that, and an empty `{}` (the default) fails the admin's "required".
    readonly_fields = ["waiting_area"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not _is_superuser(request):
            fields += [name for name in CLINIC_SUPERUSER_FIELDS if name not in fields]
        return fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Clinics are created by their organisation's admins (`clinic_create` makes the first
        # clinic admin); only a superuser may bypass that.
        return _is_superuser(request) and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_superuser(request) and super().has_delete_permission(request, obj)


@admin.register(Membership)
class MembershipAdmin(SuperuserWritesOnly):
    list_display = ["user", "role", "organisation", "clinic"]
    list_filter = ["role", "organisation"]
    raw_id_fields = ["user"]


@admin.register(Invitation)
class InvitationAdmin(SuperuserWritesOnly):
    list_display = [
        "email",
        "role",
        "organisation",
        "clinic",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    exclude = ["token_hash"]
    readonly_fields = ["accepted_at", "accepted_by"]
