"""The payer's endpoints (pay, receipt email, complete) are throttled per link and per address,
and `complete` right after another answers the stored status without asking Stripe again."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

import stripe_sandbox
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.tests.helpers import (
    Call,
    intent_at_stripe,
    pay_at_stripe,
    post_json,
    request_payment,
    start_call,
)
from testsupport.world import World

TOO_MANY = "Too many tries in a short time, so nothing was done this time. Nothing was charged."


@pytest.fixture
def pr(connected: World, call: Call, django_capture_on_commit_callbacks: Any) -> PaymentRequest:
    with django_capture_on_commit_callbacks(execute=True):
        return request_payment(connected, call)


def _stripe_calls(sandbox: stripe_sandbox.SandboxServer) -> int:
    return len(sandbox.api_requests("/v1/payment_intents"))


def _assert_too_many(response: Any) -> None:
    assert response.status_code == 429
    body = response.json()
    assert body["error"].startswith(TOO_MANY) and "Try again in " in body["error"]
    assert int(response["Retry-After"]) == body["retry_after"] > 0


def test_complete_past_the_links_limit_gets_429_and_asks_stripe_nothing(
    connected: World,
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.RATE_LIMIT_PAYER_PER_TOKEN = "3/10m"
    for _ in range(3):
        assert post_json(Client(), call.payer_url(pr, "complete"), {}).status_code == 200
    pay_at_stripe(sandbox, pr)
    # A new try: without the limit, the next complete would ask Stripe (and find it paid).
    assert (
        post_json(Client(), call.payer_url(pr, "email"), {"email": "pat@example.test"}).status_code
        == 200
    )
    before = _stripe_calls(sandbox)

    refused = post_json(Client(), call.payer_url(pr, "complete"), {})

    _assert_too_many(refused)
    assert _stripe_calls(sandbox) == before
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED  # paid at Stripe, but nothing was asked
    # Another patient's link, from the same address, is not affected.
    other = start_call(connected, first_name="Sam", last_name="Other")
    with django_capture_on_commit_callbacks(execute=True):
        other_pr = request_payment(connected, other)
    assert post_json(Client(), other.payer_url(other_pr, "complete"), {}).status_code == 200


def test_receipt_email_updates_past_the_links_limit_get_429_and_change_nothing(
    call: Call, pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer, settings: Any
) -> None:
    settings.RATE_LIMIT_PAYER_PER_TOKEN = "2/10m"
    for n in range(2):
        answer = post_json(Client(), call.payer_url(pr, "email"), {"email": f"pat{n}@example.test"})
        assert answer.status_code == 200
    before = _stripe_calls(sandbox)

    refused = post_json(Client(), call.payer_url(pr, "email"), {"email": "evil@example.test"})

    _assert_too_many(refused)
    assert _stripe_calls(sandbox) == before
    pr.refresh_from_db()
    assert pr.receipt_email == "pat1@example.test"
    assert intent_at_stripe(sandbox, pr)["receipt_email"] == "pat1@example.test"


def test_opening_the_payment_past_the_links_limit_gets_429_and_asks_stripe_nothing(
    call: Call, pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer, settings: Any
) -> None:
    settings.RATE_LIMIT_PAYER_PER_TOKEN = "2/10m"
    for _ in range(2):
        assert Client().get(call.payer_url(pr)).status_code == 200
    before = _stripe_calls(sandbox)

    refused = Client().get(call.payer_url(pr))

    _assert_too_many(refused)
    assert "client_secret" not in refused.json()
    assert _stripe_calls(sandbox) == before


def test_the_payer_limit_per_address_holds_across_links_and_spares_other_addresses(
    connected: World,
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.RATE_LIMIT_PAYER_PER_ADDRESS = "2/10m"
    other = start_call(connected, first_name="Sam", last_name="Other")
    with django_capture_on_commit_callbacks(execute=True):
        other_pr = request_payment(connected, other)
    here = Client(REMOTE_ADDR="203.0.113.5")
    assert (
        post_json(here, call.payer_url(pr, "email"), {"email": "a@example.test"}).status_code == 200
    )
    answer = post_json(here, other.payer_url(other_pr, "email"), {"email": "b@example.test"})
    assert answer.status_code == 200

    refused = post_json(here, call.payer_url(pr, "email"), {"email": "c@example.test"})

    _assert_too_many(refused)
    pr.refresh_from_db()
    assert pr.receipt_email == "a@example.test"
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    answer = post_json(elsewhere, call.payer_url(pr, "email"), {"email": "d@example.test"})
    assert answer.status_code == 200


def test_a_burst_of_completes_asks_stripe_once_and_answers_the_stored_status(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.PAYER_COMPLETE_DEBOUNCE_SECONDS = 60
    before = _stripe_calls(sandbox)
    first = post_json(Client(), call.payer_url(pr, "complete"), {})
    assert first.json()["request"]["status"] == "requested"
    assert _stripe_calls(sandbox) == before + 1
    pay_at_stripe(sandbox, pr)  # paid at Stripe; CareCall does not know yet
    asked = _stripe_calls(sandbox)

    answers = [post_json(Client(), call.payer_url(pr, "complete"), {}) for _ in range(20)]

    assert {a.status_code for a in answers} == {200}
    assert {a.json()["request"]["status"] for a in answers} == {"requested"}  # as stored
    assert _stripe_calls(sandbox) == asked
    # A new try (each Pay press saves the receipt email first) asks Stripe again.
    assert (
        post_json(Client(), call.payer_url(pr, "email"), {"email": "pat@example.test"}).status_code
        == 200
    )
    with django_capture_on_commit_callbacks(execute=True):
        paid = post_json(Client(), call.payer_url(pr, "complete"), {})
    assert paid.json()["request"]["status"] == "paid"


def test_a_complete_after_the_debounce_window_asks_stripe_again(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.PAYER_COMPLETE_DEBOUNCE_SECONDS = 1
    assert post_json(Client(), call.payer_url(pr, "complete"), {}).status_code == 200
    pay_at_stripe(sandbox, pr)
    assert post_json(Client(), call.payer_url(pr, "complete"), {}).json()["request"]["status"] == (
        "requested"
    )
    time.sleep(1.1)
    with django_capture_on_commit_callbacks(execute=True):
        later = post_json(Client(), call.payer_url(pr, "complete"), {})
    assert later.json()["request"]["status"] == "paid"


def test_a_complete_that_found_stripe_down_lets_the_next_one_ask_at_once(
    call: Call, pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer, settings: Any
) -> None:
    settings.PAYER_COMPLETE_DEBOUNCE_SECONDS = 60
    pay_at_stripe(sandbox, pr)
    sandbox.configure_faults(api_error_rate=1.0, api_error_status=503)
    assert post_json(Client(), call.payer_url(pr, "complete"), {}).status_code == 503
    sandbox.clear_faults()
    before = _stripe_calls(sandbox)
    back = post_json(Client(), call.payer_url(pr, "complete"), {})
    assert back.json()["request"]["status"] == "paid"
    assert _stripe_calls(sandbox) == before + 1
