"""What a stored Stripe event means for us (the workers' part of `payments/webhooks.py`).

The body only says which request, refund or account to look at: amounts and statuses are
re-read from Stripe and applied forward only, so a forged, stale or reordered body changes
nothing Stripe does not say. Each event comes to an `EventOutcome` (its text is kept on the
event's row for a person) or, raised and caught by the worker, an `EventFailed`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from carecall.payments.models import PaymentRequest, Refund, StripeEvent
from carecall.payments.services.connection import connection_forget_account
from carecall.payments.services.intents import payment_request_reconcile
from carecall.payments.services.refunds import payment_request_refresh_refunds

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventOutcome:
    """An event acted on: `text` says what it came to (stored on its row); `changed` whether
    it changed anything (events that changed nothing are pruned later)."""

    text: str
    changed: bool = False


@dataclass(frozen=True)
class EventFailed:
    """An event that could not be acted on, to be tried again after a backoff. Stripe being
    unreachable (`gateway_trouble`) is waited out for ever; anything else is given up on after
    a few tries and kept for a person."""

    reason: str
    gateway_trouble: bool

    @property
    def text(self) -> str:
        return f"error: {self.reason}"


# The PaymentIntent events that can move a request (each re-reads the intent from Stripe);
# created, requires_action and the like change nothing and cost no Stripe call.
_INTENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.processing",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
    }
)


def stripe_event_process(row: StripeEvent) -> EventOutcome:
    """Act on one stored event: what it means for us, and whether anything changed.
    PaymentGatewayError (Stripe unreachable) and any other error propagate: the caller records
    them as an `EventFailed`."""
    obj = row.payload.get("object") or {}
    if row.type == "account.application.deauthorized":
        if not row.account:
            return EventOutcome("ignored: no account")
        created = int(row.payload.get("created") or 0) or None
        if connection_forget_account(account_id=row.account, event_created=created):
            return EventOutcome("forgot account", changed=True)
        return EventOutcome("no current connection to forget")
    if row.type in ("refund.created", "refund.updated", "charge.refunded"):
        return _refund_event_process(row, obj)
    if row.type not in _INTENT_EVENTS:
        return EventOutcome("ignored: type")
    pr = PaymentRequest.objects.filter(payment_intent_id=obj.get("id")).first()
    if pr is None:
        return EventOutcome("ignored: unknown PaymentIntent")
    if row.account != pr.stripe_account_id:
        logger.warning("event %s for %s names account %s", row.event_id, pr.pk, row.account)
        return EventOutcome("ignored: foreign account")
    if (
        int(obj.get("amount") or -1) != pr.amount
        or str(obj.get("currency", "")).upper() != pr.currency
    ):
        return EventOutcome("ignored: amount or currency differs")
    before = pr.status
    # The body only says which request to look at: whatever the event type (succeeded,
    # processing, payment_failed, canceled), the intent is re-read from Stripe (with the charge
    # for the card's brand and last 4) and applied forward only. A forged, stale or reordered
    # body changes nothing Stripe does not say. PaymentGatewayError: try again later.
    payment_request_reconcile(payment_request=pr)
    pr.refresh_from_db()
    return EventOutcome(f"applied: {pr.status}", changed=pr.status != before)


def _refund_event_process(row: StripeEvent, obj: dict[str, Any]) -> EventOutcome:
    refund = Refund.objects.filter(stripe_refund_id=str(obj.get("id") or "")).first()
    if refund is not None:
        pr: PaymentRequest | None = refund.payment_request
    else:
        pr = PaymentRequest.objects.filter(payment_intent_id=obj.get("payment_intent")).first()
    if pr is None:
        return EventOutcome("ignored: unknown PaymentIntent")
    if row.account != pr.stripe_account_id:
        return EventOutcome("ignored: foreign account")
    # Amounts and statuses are re-read from Stripe (our refunds still pending, and the charge's
    # refunded total), never taken from the body.
    changed = payment_request_refresh_refunds(payment_request=pr)
    if refund is not None:
        return EventOutcome(f"refund {refund.pk} applied", changed=changed)
    if row.type == "charge.refunded":
        return EventOutcome("synced refunded amount", changed=changed)
    return EventOutcome("refund made outside CareCall: synced refunded amount", changed=changed)
