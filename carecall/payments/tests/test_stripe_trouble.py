"""When Stripe errors, is busy, or answers after the fact: people get a clear "try again", nothing
is left half-made, and a retried create never makes a second PaymentIntent."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.test import Client

import stripe_sandbox
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.tests.helpers import (
    HARBOUR,
    Call,
    intent_at_stripe,
    intents_at_stripe,
    pay_at_stripe,
    post_json,
    request_payment,
)
from conftest import World, client_for

TRY_AGAIN = "Stripe did not answer in time: nothing was charged. Try again."


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


def test_stripe_down_when_the_payer_completes_gives_try_again_and_changes_nothing(
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
    assert down.json() == {"error": TRY_AGAIN}
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
