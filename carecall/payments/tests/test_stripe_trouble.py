"""When Stripe errors, is busy, or answers after the fact: people get a clear "try again", nothing
is left half-made, and a retried create never makes a second PaymentIntent."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client

import stripe_sandbox
from carecall.audit.models import AuditEntry
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.services import requests
from carecall.payments.tests.helpers import (
    HARBOUR,
    Call,
    CallListener,
    intent_at_stripe,
    intents_at_stripe,
    pay_at_stripe,
    post_json,
    request_payment,
)
from testsupport.world import World, client_for

TRY_AGAIN = "Stripe did not answer in time: nothing was charged. Try again."
UNCONFIRMED = (
    "We could not confirm the payment yet. You will not be charged twice: we keep checking."
)


def _create(connected: World, call: Call) -> Any:
    return post_json(
        client_for(connected.clinician),
        call.staff_url(),
        {"amount": "85.00", "description": "Standard consultation"},
    )


def _seed_failing_first_call_only(rate: float = 0.5) -> int:
    """A fault seed whose first API call fails and whose second succeeds."""
    for seed in range(10_000):
        rolls = random.Random(seed)
        if rolls.random() < rate <= rolls.random():
            return seed
    raise AssertionError("no such seed")


@pytest.mark.parametrize("status", [500, 429], ids=["api-error", "rate-limited"])
def test_stripe_failing_before_the_create_gives_try_again_and_leaves_no_request(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer, status: int
) -> None:
    sandbox.configure_faults(api_error_rate=1.0, api_error_status=status, api_error_when="before")

    response = _create(connected, call)

    assert response.status_code == 503
    assert response.json() == {"error": TRY_AGAIN}
    assert not PaymentRequest.objects.exists()
    sandbox.clear_faults()
    assert intents_at_stripe(sandbox, HARBOUR) == []


def test_an_answer_lost_after_the_create_gives_try_again_and_leaves_no_request(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer
) -> None:
    sandbox.configure_faults(api_error_rate=1.0, api_error_when="after")

    response = _create(connected, call)

    assert response.status_code == 503
    assert not PaymentRequest.objects.exists()


def test_the_sdks_retry_after_a_lost_answer_replays_the_same_intent(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer, settings: Any
) -> None:
    faults = {
        "api_error_rate": 0.5,
        "api_error_when": "after",
        "api_error_paths": ["/v1/payment_intents"],
        "seed": _seed_failing_first_call_only(),
    }
    # Without retries the seed's first call fails: the intent is made, its answer lost.
    sandbox.configure_faults(**faults)
    assert _create(connected, call).status_code == 503
    assert len(intents_at_stripe(sandbox, HARBOUR)) == 1

    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    sandbox.configure_faults(**faults)  # the same seed again: first call fails, second works
    response = _create(connected, call)

    assert response.status_code == 201, response.content
    sandbox.clear_faults()
    pr = PaymentRequest.objects.get()
    intents = [
        i
        for i in intents_at_stripe(sandbox, HARBOUR)
        if i["metadata"]["payment_request"] == str(pr.pk)
    ]
    assert [i["id"] for i in intents] == [pr.payment_intent_id]
    assert intents[0]["client_secret"] == pr.client_secret


def test_stripe_down_when_the_payer_completes_says_not_confirmed_yet_and_changes_nothing(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    pay_at_stripe(sandbox, pr)
    sandbox.configure_faults(api_error_rate=1.0, api_error_status=503)

    down = post_json(Client(), call.payer_url(pr, "complete"), {})

    assert down.status_code == 503
    # The card was charged: never "nothing was charged" (issue 11, fault 4).
    assert down.json() == {"error": UNCONFIRMED, "checking": True}
    assert "nothing was charged" not in down.content.decode()
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED
    sandbox.clear_faults()
    with django_capture_on_commit_callbacks(execute=True):
        back = post_json(Client(), call.payer_url(pr, "complete"), {})
    assert back.json()["request"]["status"] == "paid"


def test_stripe_down_when_cancelling_gives_try_again_and_keeps_the_request_open(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    sandbox.configure_faults(api_error_rate=1.0, api_error_status=429)

    response = client_for(connected.clinician).post(call.cancel_url(pr))

    assert response.status_code == 503
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED
    sandbox.clear_faults()
    assert intent_at_stripe(sandbox, pr)["status"] == "requires_payment_method"


# ----------------------------------------------------------------------------- a slow Stripe

SLOW_MS = 2500  # the sandbox's added latency: longer than the timeout below


def test_a_stripe_slower_than_the_timeout_gives_try_again_and_leaves_nothing_half_made(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.STRIPE_TIMEOUT_SECONDS = 1
    listener = CallListener(call.visit)
    sandbox.configure_faults(api_latency_ms=SLOW_MS)

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = _create(connected, call)
    waited = time.monotonic() - started

    assert response.status_code == 503
    assert response.json() == {"error": TRY_AGAIN}
    assert waited < SLOW_MS / 1000  # the timeout answered, not Stripe
    assert not PaymentRequest.objects.exists()
    assert not AuditEntry.objects.filter(action=PaymentAction.PAYMENT_REQUESTED).exists()
    assert listener.payments() == []
    # The slow call may still make its intent at Stripe once it gets there; nobody has its
    # client secret and nothing is charged.
    time.sleep(SLOW_MS / 1000 + 0.5)
    sandbox.clear_faults()
    assert all(
        i["status"] == "requires_payment_method" for i in intents_at_stripe(sandbox, HARBOUR)
    )

    # Stripe is quick again: the clinician's next try makes exactly one request.
    with django_capture_on_commit_callbacks(execute=True):
        again = _create(connected, call)
    assert again.status_code == 201, again.content
    (pr,) = PaymentRequest.objects.all()
    assert intent_at_stripe(sandbox, pr)["client_secret"] == pr.client_secret
    assert [m.request.id for m in listener.payments()] == [str(pr.pk)]


def test_a_stripe_slower_than_the_timeout_when_the_payer_completes_says_not_confirmed_yet(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    pay_at_stripe(sandbox, pr)
    settings.STRIPE_TIMEOUT_SECONDS = 1
    sandbox.configure_faults(api_latency_ms=SLOW_MS)

    slow = post_json(Client(), call.payer_url(pr, "complete"), {})

    assert slow.status_code == 503
    assert slow.json() == {"error": UNCONFIRMED, "checking": True}
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED
    sandbox.clear_faults()
    with django_capture_on_commit_callbacks(execute=True):
        back = post_json(Client(), call.payer_url(pr, "complete"), {})
    assert back.json()["request"]["status"] == "paid"


def test_no_database_transaction_is_held_open_while_stripe_makes_the_intent(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer, monkeypatch: Any
) -> None:
    """A slow Stripe must not keep a write lock (SQLite has one writer for every clinic)."""
    real = requests.get_gateway()
    depth_at_call: list[int] = []

    class Watching:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def intent_create(self, **kwargs: Any) -> Any:
            depth_at_call.append(len(connection.atomic_blocks))
            return real.intent_create(**kwargs)

    monkeypatch.setattr(requests, "get_gateway", Watching)
    depth_before = len(connection.atomic_blocks)  # the test's own transaction

    pr = request_payment(connected, call)

    assert depth_at_call == [depth_before]
    assert pr.payment_intent_id and PaymentRequest.objects.filter(pk=pr.pk).exists()
