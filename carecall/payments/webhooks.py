"""Stripe's webhook events: an inbox acknowledged at once, processed by the workers.

- `stripe_event_receive` (the view's only work): verify the signature on the raw body and insert
  the event under its unique Stripe id, one `INSERT … ON CONFLICT DO NOTHING`; a redelivery
  inserts nothing and is acknowledged all the same. No processing, no Stripe call.
- `stripe_events_enqueue_due` (the workers' feeder, a few times a second): queues a task for
  every stored event that waits: new, due again after an error, or whose task was lost (queued
  more than WEBHOOK_EVENT_REQUEUE_SECONDS ago and not being worked on).
- `stripe_event_process` (the task): takes the event's lease by a compare-and-set, so of two
  workers holding a task for one event only one acts; acts on it with no transaction open
  around Stripe calls; records the outcome, or the error and when to try again (backoff).
- `stripe_events_prune` (periodic): events that changed nothing are deleted after
  WEBHOOK_EVENT_RETENTION_DAYS.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import F, Q
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery
from django.utils import timezone

from carecall.payments import services
from carecall.payments.gateway import Intent, PaymentGatewayError, get_gateway
from carecall.payments.models import PaymentRequest, StripeEvent

logger = logging.getLogger(__name__)

STRIPE_EVENT_MAX_ATTEMPTS = 5
# Seconds to wait before the next try, by the number of tries so far (then the last, for ever:
# Stripe being unreachable is worth waiting out; a bug gives up after STRIPE_EVENT_MAX_ATTEMPTS).
STRIPE_EVENT_BACKOFF = (2, 10, 60, 300, 1800, 3600)

# Set when this process stores an event, so a feeder in the same process (the demo's worker)
# queues it at once instead of at its next poll.
inbox_arrived = threading.Event()


# ----------------------------------------------------------------------------- the inbox


def _inbox_insert(event: StripeEvent) -> bool:
    """One `INSERT … ON CONFLICT DO NOTHING`; True if the row is new (a duplicate inserts
    nothing). Through Django's own SQL compiler, so both SQLite and PostgreSQL get their form."""
    using = router.db_for_write(StripeEvent)
    fields = [f for f in StripeEvent._meta.concrete_fields if not f.primary_key]
    query = InsertQuery(StripeEvent, on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, [event])
    inserted = 0
    with connections[using].cursor() as cursor:
        for sql, params in query.get_compiler(using=using).as_sql():
            cursor.execute(sql, params)
            inserted += max(cursor.rowcount, 0)
    return inserted == 1


def stripe_event_receive(*, payload: bytes, signature: str) -> bool:
    """Verify and store a webhook event (the inbox). Returns whether it is new."""
    event = get_gateway().webhook_event(payload=payload, signature=signature)
    created = _inbox_insert(
        StripeEvent(
            event_id=event.id,
            type=event.type,
            account=event.account or "",
            payload={"object": event.object, "created": event.created},
        )
    )
    if created:
        inbox_arrived.set()
    return created


def _due(now: datetime) -> Q:
    requeue = now - timedelta(seconds=settings.WEBHOOK_EVENT_REQUEUE_SECONDS)
    return (
        Q(processed_at__isnull=True, failed_at__isnull=True)
        & (Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=requeue))
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    )


def stripe_events_enqueue_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Queue a processing task for each stored event that waits. Returns how many.

    A cheap read first (nothing waiting is the common case, and on SQLite a transaction takes
    the database's one write lock); then the rows are locked with SKIP LOCKED (PostgreSQL: two
    feeders take different rows; SQLite serialises them) and marked queued in the same
    transaction as their tasks' rows."""
    from carecall.jobs.tasks import stripe_event_process_task

    now = now or timezone.now()
    waiting = StripeEvent.objects.filter(_due(now)).order_by("received_at", "pk")
    if not waiting.exists():
        return 0
    with transaction.atomic():
        ids = list(waiting.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        StripeEvent.objects.filter(pk__in=ids).update(enqueued_at=now)
        for event_id in ids:
            stripe_event_process_task.enqueue(event_id=event_id)
    return len(ids)


def stripe_events_prune(*, now: datetime | None = None) -> int:
    """Delete processed events that changed nothing, once WEBHOOK_EVENT_RETENTION_DAYS old.

    Those that changed something are kept (what Stripe told us, and when); so are events given
    up on, for a person. Stripe stops redelivering after 3 days, far inside the period."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.WEBHOOK_EVENT_RETENTION_DAYS)
    deleted, _by_model = StripeEvent.objects.filter(processed_at__lt=cutoff, changed=False).delete()
    return deleted


# ----------------------------------------------------------------------------- processing


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=STRIPE_EVENT_BACKOFF[min(attempts, len(STRIPE_EVENT_BACKOFF)) - 1])


def stripe_event_process(*, event_id: int) -> str:
    """Act on a stored event once (a worker's task). Returns the outcome kept on the row.

    The lease (`claimed_until`) is taken by one UPDATE whose WHERE says "not processed, not
    leased, due": of two workers running at once, the database lets exactly one match. No
    transaction is open while Stripe is asked."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_EVENT_LEASE_SECONDS)
    taken = (
        StripeEvent.objects.filter(pk=event_id)
        .filter(
            Q(processed_at__isnull=True, failed_at__isnull=True),
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        )
        .update(claimed_until=lease)
    )
    if not taken:
        return "skipped: done, being worked on, or not due"
    row = StripeEvent.objects.get(pk=event_id)
    gateway_trouble = False
    changed = False
    try:
        outcome, changed = _process(row)
    except PaymentGatewayError as error:
        outcome = f"error: {error.message}"  # Stripe unreachable: worth asking again later
        gateway_trouble = True
    except Exception as error:  # a rule or a bug: recorded, and never blocks other events
        logger.exception("Stripe event %s (%s) could not be processed", row.event_id, row.type)
        outcome = f"error: {type(error).__name__}: {error}"
    mine = StripeEvent.objects.filter(pk=row.pk, claimed_until=lease)
    if outcome.startswith("error:"):
        attempts = row.attempts + 1
        give_up = not gateway_trouble and attempts >= STRIPE_EVENT_MAX_ATTEMPTS
        # Left unprocessed, due again after the backoff (the feeder queues it then), unless it
        # failed too often for a reason waiting will not fix: then it is kept for a person.
        mine.update(
            outcome=outcome[:300],
            attempts=F("attempts") + 1,
            failed_at=timezone.now() if give_up else None,
            claimed_until=None,
            enqueued_at=None,
            next_attempt_at=timezone.now() + _backoff(attempts),
        )
        if give_up:
            logger.error("Stripe event %s given up after %d tries", row.event_id, attempts)
        return outcome
    mine.update(
        processed_at=timezone.now(), outcome=outcome[:300], changed=changed, claimed_until=None
    )
    return outcome


def _process(row: StripeEvent) -> tuple[str, bool]:
    """What the event means for us. Returns (outcome, whether anything changed)."""
    obj = row.payload.get("object") or {}
    if row.type == "account.application.deauthorized":
        if not row.account:
            return "ignored: no account", False
        created = int(row.payload.get("created") or 0) or None
        if services.connection_forget_account(account_id=row.account, event_created=created):
            return "forgot account", True
        return "no current connection to forget", False
    if row.type in ("refund.created", "refund.updated", "charge.refunded"):
        return _process_refund_event(row, obj)
    if not row.type.startswith("payment_intent."):
        return "ignored: type", False
    pr = PaymentRequest.objects.filter(payment_intent_id=obj.get("id")).first()
    if pr is None:
        return "ignored: unknown PaymentIntent", False
    if row.account != pr.stripe_account_id:
        logger.warning("event %s for %s names account %s", row.event_id, pr.pk, row.account)
        return "ignored: foreign account", False
    if (
        int(obj.get("amount") or -1) != pr.amount
        or str(obj.get("currency", "")).upper() != pr.currency
    ):
        return "ignored: amount or currency differs", False
    before = pr.status
    if row.type == "payment_intent.succeeded":
        # Re-read with the charge expanded for the card's brand and last 4 (a Stripe call:
        # PaymentGatewayError means try again later).
        services.payment_request_reconcile(payment_request=pr)
    else:
        error = obj.get("last_payment_error") or {}
        intent = Intent(
            id=str(obj["id"]),
            status=str(obj.get("status")),
            amount=int(obj["amount"]),
            currency=str(obj["currency"]).upper(),
            client_secret="",
            failure_message=str(error.get("message") or "") if isinstance(error, dict) else "",
        )
        services.payment_request_apply_intent(payment_request=pr, intent=intent)
    pr.refresh_from_db()
    return f"applied: {pr.status}", pr.status != before


def _process_refund_event(row: StripeEvent, obj: dict[str, Any]) -> tuple[str, bool]:
    from carecall.payments.gateway import RefundResult
    from carecall.payments.models import Refund
    from carecall.payments.refunds import payment_request_sync_refunded, refund_apply_result

    pr = PaymentRequest.objects.filter(payment_intent_id=obj.get("payment_intent")).first()
    if pr is None:
        return "ignored: unknown PaymentIntent", False
    if row.account != pr.stripe_account_id:
        return "ignored: foreign account", False
    before = (pr.status, pr.amount_refunded, pr.refunds.count())
    if row.type == "charge.refunded":
        payment_request_sync_refunded(
            payment_request=pr, amount_refunded=int(obj.get("amount_refunded") or 0)
        )
        pr.refresh_from_db()
        return "synced refunded amount", (pr.status, pr.amount_refunded, pr.refunds.count()) != (
            before
        )
    refund = Refund.objects.filter(stripe_refund_id=obj.get("id"), payment_request=pr).first()
    if refund is None:
        return "ignored: refund made outside CareCall", False
    refund_before = refund.status
    after = refund_apply_result(
        refund=refund,
        result=RefundResult(
            id=str(obj["id"]),
            amount=int(obj.get("amount") or 0),
            status=str(obj.get("status") or "pending"),
            failure_reason=str(obj.get("failure_reason") or ""),
        ),
    )
    pr.refresh_from_db()
    changed = after.status != refund_before or (pr.status, pr.amount_refunded) != before[:2]
    return f"refund {refund.pk} applied", changed
