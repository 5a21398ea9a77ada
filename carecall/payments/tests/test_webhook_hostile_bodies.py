"""Webhook bodies that are signed but hostile or broken: a NUL inside the JSON is stored and
processed (PostgreSQL's jsonb refused it, and every Stripe retry got a 500); a malformed body
gets 400 with its reason and stores nothing; an event the database cannot store is logged and
answered 2xx with an error (never a retry loop); a signature dated in the future is refused
beyond a small skew. Run on SQLite and PostgreSQL (`testsupport.postgres`)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from django.core import mail
from django.db import DataError, OperationalError
from django.test import Client

import stripe_sandbox
from carecall.payments import webhooks
from carecall.payments.models import PaymentRequest, PaymentStatus, StripeEvent
from carecall.payments.tests.helpers import (
    Call,
    deliver_webhook,
    event_body,
    pay_at_stripe,
    post_json,
    post_webhook,
    request_payment,
    signature_for,
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


def _paid(sandbox: stripe_sandbox.SandboxServer, pr: PaymentRequest) -> dict[str, Any]:
    pay_at_stripe(sandbox, pr)
    return stripe_event(sandbox, pr, "payment_intent.succeeded")


def test_a_nul_inside_the_json_is_stored_as_sent_and_the_payment_is_processed(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    event = _paid(sandbox, pr)
    obj = event["data"]["object"]
    obj["description"] = "Consult\u0000ation \u0001\u001f"
    obj["metadata"] = {**(obj.get("metadata") or {}), "note\u0000": "a\u0000b"}
    body = event_body(event)
    assert b"\\u0000" in body

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver_webhook(Client(), body)

    assert response.status_code == 200, response.content
    assert response.json() == {"received": True, "duplicate": False}
    row = StripeEvent.objects.get()
    assert row.body == body.decode()
    assert row.payload["object"]["description"] == "Consult\u0000ation \u0001\u001f"
    assert (row.outcome, row.changed) == ("applied: paid", True)
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert [m.to for m in mail.outbox] == [["pat@example.test"]]


def _event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": "evt_hostile",
        "object": "event",
        "type": "payment_intent.succeeded",
        "account": "acct_1HarbourGPxx",
        "created": int(time.time()),
        "data": {"object": {"id": "pi_x", "object": "payment_intent"}},
    }
    for key, value in changes.items():
        if value is _DROP:
            event.pop(key)
        else:
            event[key] = value
    return event


_DROP = object()
_J = json.dumps

MALFORMED: dict[str, tuple[bytes, str]] = {
    "object-is-a-list": (_J(_event(data={"object": [1, 2]})).encode(), "data.object"),
    "object-missing": (_J(_event(data={})).encode(), "data.object"),
    "data-is-a-string": (_J(_event(data="x")).encode(), "data.object"),
    "no-id": (_J(_event(id=_DROP)).encode(), "id"),
    "empty-id": (_J(_event(id="")).encode(), "id"),
    "id-is-a-number": (_J(_event(id=12)).encode(), "id"),
    "id-with-a-nul": (_J(_event(id="evt_\u0000x")).encode(), "id"),
    "id-too-long": (_J(_event(id="evt_" + "x" * 200)).encode(), "id"),
    "no-type": (_J(_event(type=_DROP)).encode(), "type"),
    "type-is-a-list": (_J(_event(type=["payment_intent.succeeded"])).encode(), "type"),
    "account-is-an-object": (_J(_event(account={"id": "acct_x"})).encode(), "account"),
    "created-is-a-string": (_J(_event(created="yesterday")).encode(), "created"),
    "created-is-true": (_J(_event(created=True)).encode(), "created"),
    "array-body": (_J([_event()]).encode(), "not a JSON object"),
    "string-body": (b'"evt_hostile"', "not a JSON object"),
    "not-json": (b"id=evt_hostile&type=payment_intent.succeeded", "not JSON"),
    "truncated-json": (_J(_event()).encode()[:-5], "not JSON"),
    "empty-body": (b"", "not JSON"),
    "invalid-utf8": (b'{"id": "evt_\xff\xfe", "type": "x"}', "not UTF-8"),
    "utf16-body": (_J(_event()).encode("utf-16"), "not UTF-8"),
    "deep-nesting": (
        b'{"id": "evt_deep", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "not JSON",
    ),
    "4300-digit-integer": (
        b'{"id": "evt_big", "type": "x", "created": ' + b"9" * 5000 + b"}",
        "not JSON",
    ),
    "raw-control-character-in-a-string": (b'{"id": "evt_\x00x", "type": "x"}', "not JSON"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_signed_but_malformed_body_gets_400_with_its_reason_and_stores_nothing(
    db: None, case: str
) -> None:
    body, reason = MALFORMED[case]

    response = post_webhook(Client(), body)

    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert reason in error, error
    assert not StripeEvent.objects.exists()


def test_an_event_the_database_cannot_store_is_logged_and_answered_2xx_not_retried(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Whatever the content's trouble (the database refusing a value), Stripe must not retry
    it for days: retries would fail the same way and get the endpoint disabled."""
    body = event_body(_paid(sandbox, pr))

    def refuse(_event: StripeEvent) -> bool:
        raise DataError("invalid byte sequence for encoding")

    monkeypatch.setattr(webhooks, "_inbox_insert", refuse)
    with caplog.at_level(logging.ERROR, logger="carecall.payments.webhooks"):
        response = post_webhook(Client(), body)

    assert response.status_code == 200
    answer = response.json()
    assert answer["received"] is False and answer["error"]
    assert any("could not be stored" in r.getMessage() for r in caplog.records)
    assert not StripeEvent.objects.exists()


def test_a_database_that_is_away_gets_503_so_that_stripe_retries_later(
    pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = event_body(_paid(sandbox, pr))

    def away(_event: StripeEvent) -> bool:
        raise OperationalError("database is locked")

    monkeypatch.setattr(webhooks, "_inbox_insert", away)
    response = post_webhook(Client(), body)

    assert response.status_code == 503
    assert "error" in response.json()


@pytest.mark.parametrize("ahead", [600, 120])
def test_a_signature_dated_in_the_future_beyond_the_skew_is_refused(
    pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer, ahead: int
) -> None:
    body = event_body(_paid(sandbox, pr))

    response = post_webhook(Client(), body, signature_for(body, timestamp=int(time.time()) + ahead))

    assert response.status_code == 400
    assert "future" in response.json()["error"]
    assert not StripeEvent.objects.exists()


def test_a_signature_a_little_ahead_of_our_clock_or_a_little_old_is_accepted(
    pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer
) -> None:
    body = event_body(_paid(sandbox, pr))
    now = int(time.time())

    ahead = post_webhook(Client(), body, signature_for(body, timestamp=now + 30))
    behind = post_webhook(Client(), body, signature_for(body, timestamp=now - 240))

    assert (ahead.status_code, behind.status_code) == (200, 200)
    assert ahead.json()["duplicate"] is False and behind.json()["duplicate"] is True
    assert StripeEvent.objects.count() == 1
