"""A clinic's Stripe connection, payment requests made in calls, and received Stripe events."""

from __future__ import annotations

import json
import uuid
import zoneinfo
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from carecall.calls.models import Participant, Visit
from carecall.core.models import TimestampedModel
from carecall.orgs.models import Clinic


class StripeConnection(TimestampedModel):
    """The clinic's own (Standard) Stripe account, connected through Connect OAuth.

    Only the account id is kept: Stripe lets the platform act on it with the platform's key and
    the `Stripe-Account` header, so no clinic secret is ever stored.
    """

    clinic = models.OneToOneField(
        Clinic, on_delete=models.CASCADE, related_name="stripe_connection"
    )
    account_id = models.CharField(max_length=64, unique=True)
    account_name = models.CharField(max_length=200)
    country = models.CharField(max_length=2)
    default_currency = models.CharField(max_length=3)
    charges_enabled = models.BooleanField(default=False)
    connected_at = models.DateTimeField()
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.account_name} ({self.account_id}) for {self.clinic}"


class PaymentStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    PROCESSING = "processing", _("Processing")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed, can be retried")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    REFUNDED = "refunded", _("Refunded")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")


OPEN_STATUSES = (PaymentStatus.REQUESTED, PaymentStatus.PROCESSING, PaymentStatus.FAILED)
PAID_STATUSES = (PaymentStatus.PAID, PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED)


class PaymentRequest(TimestampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # A short code people can read out on the phone; printed on the confirmation and receipt.
    reference = models.CharField(max_length=16, unique=True)
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="payment_requests")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="payment_requests")
    payer = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="payment_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Frozen at request time: a later change of the clinic's account does not move this payment.
    stripe_account_id = models.CharField(max_length=64)
    amount = models.PositiveIntegerField()  # minor units
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.REQUESTED
    )
    payment_intent_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    client_secret = models.CharField(max_length=200, blank=True)
    receipt_email = models.EmailField(blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)
    amount_refunded = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    receipt_sent_at = models.DateTimeField(null=True, blank=True)
    # Kept by save() for the payments pages at volume (DESIGN: 100,000 requests, < 200 ms):
    # the day it was paid in the clinic's time zone (reports group by it without per-row
    # time zone arithmetic), and one lower-case text to search (reference, description, names).
    paid_on = models.DateField(null=True, blank=True)
    search_text = models.CharField(max_length=600, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["visit", "created_at"]),
            models.Index(fields=["clinic", "created_at"]),
            models.Index(fields=["status", "updated_at"]),
            # Reports: paid requests of a clinic by the day they were paid, covering the sums.
            models.Index(
                fields=[
                    "clinic",
                    "paid_on",
                    "currency",
                    "requested_by",
                    "amount",
                    "amount_refunded",
                ],
                name="payreq_report_idx",
            ),
            # Lists across all clinics of an organisation, newest first.
            models.Index(fields=["-created_at", "-id"], name="payreq_newest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount} {self.currency} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_text = " ".join(
            [
                self.reference,
                self.description,
                self.visit.first_name,
                self.visit.last_name,
                self.payer.display_name,
            ]
        ).lower()[:600]
        self.paid_on = (
            self.paid_at.astimezone(zoneinfo.ZoneInfo(self.clinic.timezone)).date()
            if self.paid_at
            else None
        )
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "search_text", "paid_on"}
        super().save(*args, **kwargs)


class StripeEvent(models.Model):
    """Every webhook event received, once (the unique id makes a redelivery a no-op).

    The inbox of `payments/webhooks.py`: the webhook view only inserts the row; workers take
    rows in batches (`claimed_until` is their lease), act on each and mark it processed, or
    record the error and when to try again (`next_attempt_at`). `body` is the event exactly as
    Stripe sent it (verified JSON text): no content in it can fail the insert, as a `\u0000`
    fails PostgreSQL's jsonb."""

    event_id = models.CharField(max_length=80, unique=True)
    type = models.CharField(max_length=80)
    account = models.CharField(max_length=64, blank=True)
    body = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)  # or the last error
    # Tries that ended in an error; an event that keeps breaking is given up on (failed_at) so
    # it does not come back for ever.
    attempts = models.PositiveIntegerField(default=0)
    failed_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Whether processing changed anything (False: ignored, or already known); rows that changed
    # nothing are deleted after WEBHOOK_EVENT_RETENTION_DAYS.
    changed = models.BooleanField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["processed_at", "received_at"]),
            # The workers' feeder reads only the rows still waiting.
            models.Index(
                fields=["received_at"],
                name="payments_stripeevent_waiting",
                condition=models.Q(processed_at__isnull=True, failed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"

    @cached_property
    def payload(self) -> dict[str, Any]:
        """What processing reads of the body: `{"object": data.object, "created": …}`."""
        event = json.loads(self.body) if self.body else {}
        if not isinstance(event, dict):
            event = {}
        data = event.get("data")
        obj = data.get("object") if isinstance(data, dict) else None
        return {"object": obj if isinstance(obj, dict) else {}, "created": event.get("created")}


class RefundReason(models.TextChoices):
    REQUESTED_BY_CUSTOMER = "requested_by_customer", _("Requested by the patient")
    DUPLICATE = "duplicate", _("Charged twice")
    FRAUDULENT = "fraudulent", _("Fraudulent")


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Cancelled")


class Refund(TimestampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment_request = models.ForeignKey(
        PaymentRequest, on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.PositiveIntegerField()
    reason = models.CharField(max_length=30, choices=RefundReason.choices)
    note = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    stripe_refund_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The form's one-time token: a double-submitted form finds this row instead of refunding twice.
    form_token = models.CharField(max_length=64, unique=True)
    failure_reason = models.CharField(max_length=200, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"refund {self.amount} of {self.payment_request_id} ({self.status})"


class ClinicReceiptDetails(TimestampedModel):
    """What a patient needs on a receipt to claim with (an insurer, Medicare, tax): the clinic's
    legal name, address and business number (ABN in Australia, else a tax id). Payments' own
    data, edited on the clinic's payment settings page (`clinic_settings`)."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="receipt_details")
    legal_name = models.CharField(max_length=200, blank=True)
    address = models.TextField(max_length=500, blank=True)
    business_number = models.CharField(max_length=30, blank=True)


class ProviderNumber(TimestampedModel):
    """A clinician's provider number at one clinic (Medicare's differ per location), printed on
    the receipts of the payments they requested there."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="provider_numbers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider_numbers"
    )
    number = models.CharField(max_length=20)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "user"], name="one_provider_number_per_place")
        ]
