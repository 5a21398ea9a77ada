"""Stripe webhook events in the Django admin, read-only: operators find the events given up on
after repeated processing errors (`failed_at`) and why (`outcome`). Nobody edits or deletes
them; the body (which can carry a patient's email) is not shown."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from carecall.payments.models import StripeEvent


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = [
        *("received_at", "type", "event_id", "account"),
        *("processed_at", "attempts", "failed_at", "outcome"),
    ]
    list_filter = [("failed_at", admin.EmptyFieldListFilter), "type"]
    search_fields = ["event_id", "account", "type"]
    date_hierarchy = "received_at"
    ordering = ["-received_at"]
    exclude = ["body"]
    readonly_fields = [
        *("event_id", "type", "account", "received_at"),
        *("processed_at", "attempts", "failed_at", "outcome"),
        *("changed", "claimed_until", "next_attempt_at"),
    ]
    fieldsets = (
        (None, {"fields": ("event_id", "type", "account", "received_at")}),
        (
            _("Processing"),
            {
                "fields": (
                    *("processed_at", "attempts", "failed_at", "outcome", "changed"),
                    *("claimed_until", "next_attempt_at"),
                )
            },
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
