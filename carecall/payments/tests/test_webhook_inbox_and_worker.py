"""The webhook inbox: the view only verifies and stores (one INSERT); workers claim the events in
batches and process them (once each, whatever runs at the same time), retry with backoff,
recover from killed workers; events that changed nothing are deleted after the retention
period."""

from __future__ import annotations

import collections
import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

import stripe_sandbox
from carecall.audit.models import AuditEntry
from carecall.core.errors import ServiceError
from carecall.jobs.worker import worker_drain, worker_start
from carecall.payments import webhooks
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.models import PaymentRequest, PaymentStatus, StripeEvent
from carecall.payments.services import intents, webhook_processing
from carecall.payments.tests.helpers import (
    Call,
    CallListener,
    decline_at_stripe,
    event_body,
    pay_at_stripe,
    post_json,
    post_webhook,
    request_payment,
    stripe_event,
)
from testsupport.world import World


@pytest.fixture
def pr(connected: World, call: Call, django_capture_on_commit_callbacks: Any) -> PaymentRequest:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    post_json(Client(), call.payer_url(pr, "email"), {"email": "pat@example.test"})
    pr.refresh_from_db()
    return pr


def _paid_event(sandbox: stripe_sandbox.SandboxServer, pr: PaymentRequest) -> dict[str, Any]:
    pay_at_stripe(sandbox, pr)
    return stripe_event(sandbox, pr, "payment_intent.succeeded")


def _row(event: dict[str, Any]) -> StripeEvent:
    return StripeEvent.objects.get(event_id=event["id"])


def _stored_event(pr: PaymentRequest, event_id: str) -> StripeEvent:
    """A payment_failed event as the inbox keeps it, never processed."""
    event = {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.payment_failed",
        "account": pr.stripe_account_id,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": pr.payment_intent_id,
                "object": "payment_intent",
                "amount": pr.amount,
                "currency": pr.currency.lower(),
                "status": "requires_payment_method",
                "last_payment_error": {"message": "Your card was declined."},
            }
        },
    }
    return StripeEvent.objects.create(
        event_id=event_id,
        type="payment_intent.payment_failed",
        account=pr.stripe_account_id,
        body=json.dumps(event),
    )


def _make_due(event: StripeEvent) -> None:
    """Its backoff has passed (time moves on)."""
    StripeEvent.objects.filter(pk=event.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


# ----------------------------------------------------------------------------- the view


def test_the_view_stores_the_event_in_one_insert_and_changes_nothing_until_a_worker_runs(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    body = event_body(_paid_event(sandbox, pr))
    listener = CallListener(call.visit)

    with CaptureQueriesContext(connection) as queries:
        response = post_webhook(Client(), body)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == 1, sql
    # SQLite: INSERT OR IGNORE INTO …; PostgreSQL: INSERT INTO … ON CONFLICT DO NOTHING.
    assert sql[0].startswith("INSERT ") and '"payments_stripeevent"' in sql[0].split("(")[0]
    stored = StripeEvent.objects.get()
    assert (stored.processed_at, stored.outcome, stored.claimed_until) == (None, "", None)
    assert stored.body == body.decode()  # the raw body, as Stripe sent it
    assert not DBTaskResult.objects.exists()
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED
    assert listener.payments() == []

    # A redelivery: the same one statement, which inserts nothing.
    with CaptureQueriesContext(connection) as again_queries:
        again = post_webhook(Client(), body)
    assert again.json() == {"received": True, "duplicate": True}
    assert len(again_queries.captured_queries) == 1
    assert StripeEvent.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert worker_drain() == 1

    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    stored.refresh_from_db()
    assert stored.outcome == "applied: paid" and stored.processed_at is not None
    assert stored.changed is True and stored.claimed_until is None
    assert [m.request.status for m in listener.payments()] == ["paid"]
    assert [m.to for m in mail.outbox] == [["pat@example.test"]]
    assert not DBTaskResult.objects.exists()  # the inbox is the queue: no task row per event


def test_the_view_makes_no_stripe_call(
    pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = event_body(_paid_event(sandbox, pr))
    from carecall.payments import stripe_gateway

    def no_call(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the webhook view called Stripe")

    for name in ("intent_retrieve", "account_retrieve", "refund_retrieve"):
        monkeypatch.setattr(stripe_gateway.StripeGateway, name, no_call)

    assert post_webhook(Client(), body).status_code == 200


# ----------------------------------------------------------------------------- retries


def test_stripe_unreachable_is_retried_with_backoff_until_it_answers(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    event = _paid_event(sandbox, pr)
    post_webhook(Client(), event_body(event))
    sandbox.configure_faults(api_error_rate=1.0)

    before = timezone.now()
    worker_drain()
    row = _row(event)
    assert row.outcome.startswith("error:") and row.attempts == 1
    assert row.processed_at is None and row.failed_at is None and row.claimed_until is None
    assert row.next_attempt_at is not None
    first_wait = row.next_attempt_at - before
    assert timedelta(seconds=1) < first_wait <= timedelta(seconds=3)

    # Not due yet: a worker running now leaves it alone.
    assert worker_drain() == 0
    assert _row(event).attempts == 1

    waits = [first_wait]
    for _try in range(6):  # Stripe stays down: never given up, each wait longer (then capped)
        _make_due(row)
        start = timezone.now()
        worker_drain()
        row = _row(event)
        assert row.next_attempt_at is not None
        waits.append(row.next_attempt_at - start)
    assert row.attempts == 7 and row.failed_at is None
    rounded = [round(w.total_seconds()) for w in waits]
    assert rounded == [2, 10, 60, 300, 1800, 3600, 3600]

    sandbox.clear_faults()
    _make_due(row)
    with django_capture_on_commit_callbacks(execute=True):
        worker_drain()
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert _row(event).outcome == "applied: paid"
    assert len(mail.outbox) == 1


def test_an_event_that_raises_does_not_stop_the_others_and_is_given_up_after_five_tries(
    connected: World,
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        other = request_payment(connected, call, description="Second item")
    decline_at_stripe(sandbox, other)  # what its event says (the worker re-reads it)
    broken = _stored_event(pr, "evt_broken")
    good = _stored_event(other, "evt_good")
    real_process = webhooks.stripe_event_process

    def process(row: StripeEvent) -> webhook_processing.EventOutcome:
        if row.event_id == "evt_broken":
            raise ValueError("something unexpected in the event")
        return real_process(row)

    monkeypatch.setattr(webhooks, "stripe_event_process", process)

    with django_capture_on_commit_callbacks(execute=True):
        worker_drain()

    good.refresh_from_db()
    assert good.processed_at is not None and good.outcome == "applied: failed"
    other.refresh_from_db()
    assert other.status == PaymentStatus.FAILED
    broken.refresh_from_db()
    assert broken.processed_at is None and broken.failed_at is None
    assert broken.attempts == 1
    assert broken.outcome == "error: ValueError: something unexpected in the event"

    for _run in range(4):
        _make_due(broken)
        worker_drain()
    broken.refresh_from_db()
    assert broken.attempts == 5
    assert broken.failed_at is not None and broken.processed_at is None
    # Given up: kept for a person, and no worker takes it again.
    _make_due(broken)
    assert worker_drain() == 0
    broken.refresh_from_db()
    assert broken.attempts == 5


def test_an_event_breaking_a_payment_rule_is_recorded_not_raised(
    pr: PaymentRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ServiceError from a payment rule (here: Stripe's amount differs from ours)."""
    event = _stored_event(pr, "evt_rule")

    def refuse(**_kwargs: Any) -> PaymentRequest:
        raise ServiceError("Stripe's amount or currency differs from the request")

    monkeypatch.setattr(intents, "payment_request_apply_intent", refuse)
    assert webhooks.stripe_events_process_due() == 1

    event.refresh_from_db()
    assert event.outcome == (
        "error: ServiceError: Stripe's amount or currency differs from the request"
    )
    assert (event.attempts, event.processed_at, event.failed_at) == (1, None, None)


# ----------------------------------------------------------------------------- killed workers


def test_an_event_held_by_a_worker_that_died_is_taken_again_when_its_lease_runs_out(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    event = _paid_event(sandbox, pr)
    post_webhook(Client(), event_body(event))
    # A worker claimed the event (its lease), then was killed before finishing.
    (claimed,), lease = webhooks.stripe_events_claim()
    assert claimed.event_id == event["id"] and lease > timezone.now()
    assert _row(event).claimed_until == lease

    # While the lease holds no other worker takes it.
    assert webhooks.stripe_events_claim()[0] == []
    assert worker_drain() == 0
    assert webhooks.stripe_events_claim(now=lease - timedelta(seconds=1))[0] == []
    # The lease runs out (time moves on): the next worker takes the event.
    StripeEvent.objects.filter(event_id=event["id"]).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert worker_drain() == 1

    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert len(mail.outbox) == 1


def test_a_processed_event_is_never_claimed_again(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    post_webhook(Client(), event_body(_paid_event(sandbox, pr)))
    with django_capture_on_commit_callbacks(execute=True):
        worker_drain()

    assert webhooks.stripe_events_claim(now=timezone.now() + timedelta(days=1))[0] == []
    assert len(mail.outbox) == 1


def test_a_batch_claims_its_events_in_one_write_and_marks_those_that_changed_nothing_together(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    post_webhook(Client(), event_body(_paid_event(sandbox, pr)))
    for n in range(8):
        post_webhook(Client(), event_body(_unknown_intent_event(sandbox, pr, n)))

    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert webhooks.stripe_events_process_due() == 9
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("UPDATE") and '"payments_stripeevent"' in q["sql"].split("SET")[0]
    ]
    # One claim for the nine, one "done" for the paid one, one for the eight ignored ones.
    assert len(writes) == 3, writes
    outcomes = collections.Counter(StripeEvent.objects.values_list("outcome", "changed"))
    assert outcomes == {("ignored: unknown PaymentIntent", False): 8, ("applied: paid", True): 1}
    assert not StripeEvent.objects.filter(processed_at=None).exists()
    assert not StripeEvent.objects.exclude(claimed_until=None).exists()
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID


def test_a_batch_running_past_half_its_lease_hands_the_rest_back(
    connected: World,
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """A slow Stripe: the events not yet begun go back to the inbox for any worker, before the
    lease could run out under them and let a second worker in."""
    settings.WEBHOOK_EVENT_LEASE_SECONDS = 1
    first = _stored_event(pr, "evt_first")
    with django_capture_on_commit_callbacks(execute=True):
        other = request_payment(connected, call, description="Second item")
    second = _stored_event(other, "evt_second")
    decline_at_stripe(sandbox, pr)  # what their events say (the worker re-reads them)
    decline_at_stripe(sandbox, other)
    real_process = webhooks.stripe_event_process

    def slow(row: StripeEvent) -> webhook_processing.EventOutcome:
        time.sleep(0.6)  # past half the lease
        return real_process(row)

    monkeypatch.setattr(webhooks, "stripe_event_process", slow)
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.stripe_events_process_due() == 2

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.processed_at is not None and first.outcome == "applied: failed"
    assert (second.processed_at, second.claimed_until, second.attempts) == (None, None, 0)
    monkeypatch.setattr(webhooks, "stripe_event_process", real_process)
    with django_capture_on_commit_callbacks(execute=True):
        assert worker_drain() == 1
    other.refresh_from_db()
    assert other.status == PaymentStatus.FAILED


# ----------------------------------------------------------------------------- concurrency


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_process_each_event_once_and_send_one_receipt_each(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Real threads, real transactions: two workers of two inbox threads each, in batches of 3
    so that they all compete for the same rows."""
    requests = []
    for i in range(6):
        pr = request_payment(connected, call, description=f"Item {i}")
        post_json(Client(), call.payer_url(pr, "email"), {"email": f"p{i}@example.test"})
        requests.append(pr)
        post_webhook(Client(), event_body(_paid_event(sandbox, pr)))
    for i in range(6):
        post_webhook(Client(), event_body(_unknown_intent_event(sandbox, requests[0], i)))

    calls: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    real_process = webhooks.stripe_event_process

    def counting(row: StripeEvent) -> webhook_processing.EventOutcome:
        with lock:
            calls[row.event_id] += 1
        time.sleep(0.02)  # widen the window two workers could share
        return real_process(row)

    monkeypatch.setattr(webhooks, "stripe_event_process", counting)
    monkeypatch.setattr(webhooks, "STRIPE_EVENT_BATCH", 3)
    workers = [worker_start(threads=2, poll_seconds=0.01, periodic=False) for _ in range(2)]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not StripeEvent.objects.filter(processed_at__isnull=True).exists():
                break
            time.sleep(0.05)
    finally:
        for worker in workers:
            worker.stop()

    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert sorted(calls.values()) == [1] * 12
    for pr in requests:
        pr.refresh_from_db()
        assert pr.status == PaymentStatus.PAID
    receipts = sorted(m.to[0] for m in mail.outbox if m.subject.startswith("Your receipt"))
    assert receipts == [f"p{i}@example.test" for i in range(6)]
    assert AuditEntry.objects.filter(action=PaymentAction.PAYMENT_PAID).count() == 6


def _unknown_intent_event(
    sandbox: stripe_sandbox.SandboxServer, pr: PaymentRequest, n: int
) -> dict[str, Any]:
    event = dict(stripe_event(sandbox, pr, "payment_intent.succeeded"))
    event["id"] = f"evt_unknown_{n}"
    event["data"] = {"object": {**event["data"]["object"], "id": f"pi_elsewhere_{n}"}}
    return event


# ----------------------------------------------------------------------------- retention


def test_retention_deletes_only_old_events_that_changed_nothing(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 30
    paid = _paid_event(sandbox, pr)
    post_webhook(Client(), event_body(paid))
    post_webhook(Client(), event_body(_unknown_intent_event(sandbox, pr, 1)))
    with django_capture_on_commit_callbacks(execute=True):
        worker_drain()
    # The same payment's succeeded event again under a new id: already paid, changes nothing.
    repeat = dict(paid, id="evt_repeat")
    post_webhook(Client(), event_body(repeat))
    with django_capture_on_commit_callbacks(execute=True):
        worker_drain()
    waiting = _stored_event(pr, "evt_waiting")  # not processed yet
    given_up = _stored_event(pr, "evt_given_up")
    StripeEvent.objects.filter(pk=given_up.pk).update(failed_at=timezone.now(), attempts=5)
    StripeEvent.objects.filter(pk__in=[waiting.pk, given_up.pk]).update(
        received_at=timezone.now() - timedelta(days=60)
    )
    outcomes = dict(StripeEvent.objects.values_list("event_id", "changed"))
    assert outcomes[paid["id"]] is True
    assert outcomes["evt_unknown_1"] is False and outcomes["evt_repeat"] is False

    assert webhooks.stripe_events_prune(now=timezone.now() + timedelta(days=29)) == 0
    pruned = webhooks.stripe_events_prune(now=timezone.now() + timedelta(days=31))

    assert pruned == 2
    assert set(StripeEvent.objects.values_list("event_id", flat=True)) == {
        paid["id"],
        "evt_waiting",
        "evt_given_up",
    }
