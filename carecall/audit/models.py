"""The audit trail: who did what, when. Append-only: the app never changes or deletes an entry."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from carecall.orgs.models import Clinic, Organisation


class AuditAction(models.TextChoices):
    APP_REQUESTED = "app.requested", _("App requested")
    APP_APPROVED = "app.approved", _("App request approved")
    APP_DECLINED = "app.declined", _("App request declined")
    APP_DISABLED = "app.disabled", _("App disabled")
    STRIPE_CONNECTED = "stripe.connected", _("Stripe account connected")
    STRIPE_CHANGED = "stripe.changed", _("Stripe account changed")
    STRIPE_REMOVED = "stripe.removed", _("Stripe account removed")
    STRIPE_DISCONNECTED = "stripe.disconnected", _("Stripe account disconnected at Stripe")
    PAYMENT_REQUESTED = "payment.requested", _("Payment requested")
    PAYMENT_CANCELLED = "payment.cancelled", _("Payment cancelled")
    PAYMENT_PAID = "payment.paid", _("Payment paid")
    PAYMENT_EXPIRED = "payment.expired", _("Payment request expired")
    PAYMENT_REFUNDED = "payment.refunded", _("Payment refunded")
    PAYMENT_REFUND_FAILED = "payment.refund_failed", _("Refund failed")
    RECEIPT_RESENT = "payment.receipt_resent", _("Receipt resent")
    CLINIC_PAYMENT_SETTINGS = "clinic.payment_settings", _("Clinic payment settings changed")
    MEMBER_ADDED = "member.added", _("Member added")
    MEMBER_ROLE_CHANGED = "member.role_changed", _("Role changed")
    MEMBER_REMOVED = "member.removed", _("Member removed")


class AppendOnlyError(Exception):
    pass


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    """Bulk changes would bypass save()/delete(); refuse them too."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit entries cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries cannot be deleted")


class AuditEntry(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who acted, as shown, kept even if the user is deleted later ("Stripe" for webhooks).
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target = models.CharField(max_length=80, blank=True)  # e.g. "payment:<uuid>"
    summary = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")  # Django's default says "audit entrys"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-at"]),
            # A payment's timeline on its detail page: the entries of one target, in order.
            models.Index(fields=["target", "at"], name="audit_target_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label}: {self.summary}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries cannot be deleted")
