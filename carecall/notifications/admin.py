"""Operators can see what the outbox holds (what is waiting, how often it failed and why);
nobody edits emails by hand: the outbox retries on its own (`email_outbox_send_due`). Nobody
reads them either: the text and HTML (accept links, patients' details) are never shown."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from carecall.notifications.models import OutboxEmail


@admin.register(OutboxEmail)
class OutboxEmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "to", "template", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["template", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["to", "subject", "tag"]
    exclude = ["text", "html"]
    readonly_fields = [
        *("to", "template", "tag", "subject"),
        *("attempts", "next_attempt_at", "sent_at", "last_error"),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
