from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from carecall.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_label", "action", "organisation", "clinic", "summary"]
    list_filter = ["action", "organisation"]
    search_fields = ["summary", "actor_label", "target"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
