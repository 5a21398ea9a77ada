"""Stripe's webhook events: an inbox acknowledged at once, processed by the workers.

- `stripe_webhook_answer` (the endpoint's only work, `stripe_event_store` inside it): verify the
  signature, read the body's id and type, insert the raw body under the unique Stripe id, one
  `INSERT … ON CONFLICT DO NOTHING`; a redelivery inserts nothing and is acknowledged all the
  same. No processing, no Stripe call. Malformed: 400 with the reason. Content the database
  cannot store: logged and answered 200 with an error (a retry would fail the same way).
- `stripe_events_process_due` (the workers' loop): claims a batch of waiting rows with one
  write (`SELECT … FOR UPDATE SKIP LOCKED`, then their lease), acts on each
  (`services/webhook_processing.py`) with no transaction open around Stripe calls, records
  what changed at once and marks the events that changed nothing in one UPDATE per batch; a
  failure (`EventFailed`) is recorded with when to try again (backoff). The inbox table is
  the queue: no task row per event.
- `stripe_events_prune` (periodic): events that changed nothing are deleted after
  WEBHOOK_EVENT_RETENTION_DAYS.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, connections, router, transaction
from django.db.models import F, Q
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery
from django.utils import timezone
from django.utils.translation import gettext as _

from carecall.payments.gateway import PaymentGatewayError, WebhookEvent, get_gateway
from carecall.payments.models import StripeEvent
from carecall.payments.services.webhook_processing import (
    EventFailed,
    EventOutcome,
    stripe_event_process,
)

logger = logging.getLogger(__name__)

STRIPE_EVENT_MAX_ATTEMPTS = 5
# Seconds to wait before the next try, by the number of tries so far (then the last, for ever:
# Stripe being unreachable is worth waiting out; a bug gives up after STRIPE_EVENT_MAX_ATTEMPTS).
STRIPE_EVENT_BACKOFF = (2, 10, 60, 300, 1800, 3600)
# Rows a worker claims at once: one write claims them all; small enough that a batch of real
# payments (a Stripe call each) ends well inside the lease, and other workers get the rest.
STRIPE_EVENT_BATCH = 20

# What the webhook endpoint answers: (status, JSON).
Answer = tuple[int, dict[str, Any]]

# Set when this process stores an event, so a worker in the same process (the demo's) takes it
# at once instead of at its next poll.
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


def _inbox_row(event: WebhookEvent) -> StripeEvent:
    return StripeEvent(
        event_id=event.id, type=event.type, account=event.account or "", body=event.body
    )


def stripe_event_store(*, event: WebhookEvent) -> bool:
    """Put a verified event in the inbox, its raw body as text. Returns whether it is new."""
    created = _inbox_insert(_inbox_row(event))
    if created:
        inbox_arrived.set()
    return created


def stripe_webhook_check(*, payload: bytes, signature: str) -> WebhookEvent | Answer:
    """The verified event, or the 400 answer saying why not (bad, stale or future signature;
    malformed body)."""
    try:
        return get_gateway().webhook_event(payload=payload, signature=signature)
    except PaymentGatewayError as error:
        return 400, {"error": error.message}


def stripe_webhook_store_answers(*, events: list[WebhookEvent]) -> list[Answer]:
    """Store verified events and say what to answer for each. Several are stored in one
    transaction (the fast path's group commit: on SQLite one take of the write lock for all,
    instead of one per event, each waiting its turn behind the workers' writes); should that
    fail for one event's content, each is stored on its own so the others still are."""
    if len(events) > 1:
        try:
            with transaction.atomic():
                created = [_inbox_insert(_inbox_row(event)) for event in events]
        except (DataError, IntegrityError, ValueError):
            return [stripe_webhook_store_answers(events=[event])[0] for event in events]
        except DatabaseError as error:
            logger.warning(
                "%d Stripe events not stored, database unavailable: %s", len(events), error
            )
            return [_unavailable() for _event in events]
        if any(created):
            inbox_arrived.set()
        return [(200, {"received": True, "duplicate": not new}) for new in created]
    (event,) = events
    try:
        created_one = stripe_event_store(event=event)
    except (DataError, IntegrityError, ValueError) as error:
        # This content can never be stored: a retry would fail the same way, for days (and
        # Stripe disables an endpoint that keeps failing). Logged for a person; 2xx.
        logger.error("Stripe event %s (%s) could not be stored: %s", event.id, event.type, error)
        return [
            (
                200,
                {
                    "received": False,
                    "error": _("The event could not be stored; it has been logged."),
                },
            )
        ]
    except DatabaseError as error:  # the database is away or busy: worth Stripe's retry
        logger.warning("Stripe event %s not stored, database unavailable: %s", event.id, error)
        return [_unavailable()]
    return [(200, {"received": True, "duplicate": not created_one})]


def _unavailable() -> Answer:
    return 503, {"error": _("Temporarily unavailable; please retry.")}


def stripe_webhook_answer(*, payload: bytes, signature: str) -> Answer:
    """What the webhook endpoint answers, as (status, JSON): verify, then store the one event.
    The Django view says exactly this; the ASGI fast path (`webhook_endpoint.py`) says the
    same through `stripe_webhook_check` and `stripe_webhook_store_answers`."""
    checked = stripe_webhook_check(payload=payload, signature=signature)
    if not isinstance(checked, WebhookEvent):
        return checked
    return stripe_webhook_store_answers(events=[checked])[0]


def _due(now: datetime) -> Q:
    return (
        Q(processed_at__isnull=True, failed_at__isnull=True)
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    )


def stripe_events_claim(
    *, limit: int | None = None, now: datetime | None = None
) -> tuple[list[StripeEvent], datetime]:
    """Lease up to `limit` waiting events (oldest first) to this worker; returns them and the
    lease. A cheap read first (nothing waiting is the usual case, and on SQLite a transaction
    takes the database's one write lock); then one transaction locks the rows with SKIP LOCKED
    (PostgreSQL: two workers take different rows; SQLite serialises them) and writes their
    lease. Rows leased to another worker, done, or not due are never taken."""
    now = now or timezone.now()
    limit = limit or STRIPE_EVENT_BATCH
    lease = now + timedelta(seconds=settings.WEBHOOK_EVENT_LEASE_SECONDS)
    waiting = StripeEvent.objects.filter(_due(now)).order_by("received_at", "pk")
    if not waiting.exists():
        return [], lease
    with transaction.atomic():
        rows = list(waiting.select_for_update(skip_locked=True)[:limit])
        if rows:
            StripeEvent.objects.filter(pk__in=[row.pk for row in rows]).update(claimed_until=lease)
    for row in rows:
        row.claimed_until = lease
    return rows, lease


def stripe_events_process_due(*, limit: int | None = None, now: datetime | None = None) -> int:
    """Claim a batch of waiting events and act on each once (a worker's loop). Returns how many
    were claimed. Events that changed nothing are marked done together at the end (were the
    worker killed before, doing them again changes nothing either); the others at once. A
    batch running past half its lease hands its rest back rather than risk a second worker."""
    rows, lease = stripe_events_claim(limit=limit, now=now)
    if not rows:
        return 0
    hand_back_at = time.monotonic() + settings.WEBHOOK_EVENT_LEASE_SECONDS / 2
    unchanged: dict[str, list[int]] = defaultdict(list)
    try:
        for index, row in enumerate(rows):
            if time.monotonic() > hand_back_at:
                rest = [r.pk for r in rows[index:]]
                StripeEvent.objects.filter(pk__in=rest, claimed_until=lease).update(
                    claimed_until=None
                )
                break
            outcome = _event_process_claimed(row, lease)
            if outcome is not None:
                unchanged[outcome].append(row.pk)
    finally:
        done_at = timezone.now()
        for outcome, ids in unchanged.items():
            StripeEvent.objects.filter(pk__in=ids, claimed_until=lease).update(
                processed_at=done_at, outcome=outcome, changed=False, claimed_until=None
            )
    return len(rows)


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


def _event_process_claimed(row: StripeEvent, lease: datetime) -> str | None:
    """Act on one event this worker holds the lease of. Returns the outcome's text if the event
    changed nothing (the caller marks those done together); otherwise the row is written here:
    done and changed, or the failure and when to try again. No transaction is open while Stripe
    is asked."""
    result: EventOutcome | EventFailed
    try:
        result = stripe_event_process(row)
    except PaymentGatewayError as error:
        result = EventFailed(reason=error.message, gateway_trouble=True)
    except Exception as error:  # a rule or a bug: recorded, and never blocks other events
        logger.exception("Stripe event %s (%s) could not be processed", row.event_id, row.type)
        result = EventFailed(reason=f"{type(error).__name__}: {error}", gateway_trouble=False)
    mine = StripeEvent.objects.filter(pk=row.pk, claimed_until=lease)
    if isinstance(result, EventFailed):
        attempts = row.attempts + 1
        give_up = not result.gateway_trouble and attempts >= STRIPE_EVENT_MAX_ATTEMPTS
        # Left unprocessed, due again after the backoff, unless it failed too often for a
        # reason waiting will not fix: then it is kept for a person.
        mine.update(
            outcome=result.text[:300],
            attempts=F("attempts") + 1,
            failed_at=timezone.now() if give_up else None,
            claimed_until=None,
            next_attempt_at=timezone.now() + _backoff(attempts),
        )
        if give_up:
            logger.error("Stripe event %s given up after %d tries", row.event_id, attempts)
        return None
    if not result.changed:
        return result.text[:300]
    mine.update(
        processed_at=timezone.now(), outcome=result.text[:300], changed=True, claimed_until=None
    )
    return None
