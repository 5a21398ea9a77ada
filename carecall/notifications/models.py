"""The email outbox: every email is a row written in the same transaction as the change that
caused it, sent after commit, and retried with backoff until it goes out."""

from __future__ import annotations

from django.db import models

from carecall.core.models import TimestampedModel


class OutboxEmail(TimestampedModel):
    to = models.CharField(max_length=254)
    template = models.CharField(max_length=100)
    # What the email is about, for whoever wants to know when it really went out
    # (e.g. "payments.receipt:<payment request id>"); see signals.email_sent.
    tag = models.CharField(max_length=100, blank=True, db_index=True)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True)
    # Each try takes the row by raising `attempts` (compare-and-set), so two senders never send
    # the same row at once; `next_attempt_at` is when the next try is due.
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["sent_at", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        state = "sent" if self.sent_at else f"unsent after {self.attempts} tries"
        return f"{self.template} to {self.to} ({state})"
