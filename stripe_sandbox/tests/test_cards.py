"""Stripe's test cards and test PaymentMethod ids: outcomes, messages, 3-D Secure."""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest
import stripe

from stripe_sandbox.tests.helpers import error_of, http

NEXT_YEAR = datetime.date.today().year + 1


def _pm(client: stripe.StripeClient, number: str, **card: Any) -> stripe.PaymentMethod:
    details: Any = {"number": number, "exp_month": 12, "exp_year": NEXT_YEAR, "cvc": "123", **card}
    return client.v1.payment_methods.create({"type": "card", "card": details})


def _pay(client: stripe.StripeClient, pm_id: str, amount: int = 4500) -> stripe.PaymentIntent:
    pi = client.v1.payment_intents.create({"amount": amount, "currency": "aud"})
    return client.v1.payment_intents.confirm(pi.id, {"payment_method": pm_id})


def test_card_payment_method_create_and_retrieve(client):
    pm = client.v1.payment_methods.create(
        {
            "type": "card",
            "card": {
                "number": "4242424242424242",
                "exp_month": 4,
                "exp_year": NEXT_YEAR,
                "cvc": "314",
            },
            "billing_details": {"email": "pat@example.com", "address": {"postal_code": "2000"}},
        }
    )
    assert pm.id.startswith("pm_") and pm.type == "card"
    assert (pm.card.brand, pm.card.last4, pm.card.exp_month, pm.card.exp_year) == (
        "visa",
        "4242",
        4,
        NEXT_YEAR,
    )
    assert pm.billing_details.address.postal_code == "2000"
    assert "number" not in pm.card and "cvc" not in pm.card
    assert client.v1.payment_methods.retrieve(pm.id).card.last4 == "4242"


@pytest.mark.parametrize(
    ("number", "brand"),
    [("4242424242424242", "visa"), ("5555555555554444", "mastercard"), ("378282246310005", "amex")],
)
def test_good_cards_succeed(client, number, brand):
    pi = _pay(client, _pm(client, number, cvc="1234" if brand == "amex" else "123").id)
    assert pi.status == "succeeded"
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.payment_method_details.card.brand == brand
    assert charge.payment_method_details.card.last4 == number[-4:]


DECLINES = [
    ("4000000000000002", "card_declined", "generic_decline", "Your card was declined."),
    (
        "4000000000009995",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    ("4000000000000069", "expired_card", "expired_card", "Your card has expired."),
    (
        "4000000000000127",
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
]


@pytest.mark.parametrize(("number", "code", "decline_code", "message"), DECLINES)
def test_declined_cards(client, number, code, decline_code, message):
    pi = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    pm = _pm(client, number)
    with pytest.raises(stripe.CardError) as e:
        client.v1.payment_intents.confirm(pi.id, {"payment_method": pm.id})
    err = e.value
    assert err.http_status == 402
    assert (err.code, error_of(err)["decline_code"], err.user_message) == (
        code,
        decline_code,
        message,
    )
    assert error_of(err)["type"] == "card_error"
    assert error_of(err)["payment_intent"]["id"] == pi.id
    after = client.v1.payment_intents.retrieve(pi.id)
    assert after.status == "requires_payment_method"
    assert after.last_payment_error.code == code
    assert after.last_payment_error.decline_code == decline_code
    failed = client.v1.charges.retrieve(after.latest_charge)
    assert failed.status == "failed" and failed.failure_code == code
    # and the patient can try again with a good card
    assert client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"}).status == (
        "succeeded"
    )


@pytest.mark.parametrize(
    ("test_id", "outcome"),
    [
        ("pm_card_visa", "succeeded"),
        ("pm_card_mastercard", "succeeded"),
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
        ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc"),
        ("pm_card_threeDSecure2Required", "requires_action"),
    ],
)
def test_test_payment_method_ids(client, test_id, outcome):
    pi = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    try:
        result = client.v1.payment_intents.confirm(pi.id, {"payment_method": test_id})
        assert result.status == outcome
    except stripe.CardError as e:
        assert error_of(e)["decline_code"] == outcome


def test_three_d_secure_then_success(sandbox, client):
    pi = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    pending = client.v1.payment_intents.confirm(
        pi.id, {"payment_method": _pm(client, "4000002500003155").id}
    )
    assert pending.status == "requires_action"
    assert pending.next_action.type == "use_stripe_sdk"
    assert pending.latest_charge is None
    done = sandbox.complete_3ds(pi.id, pi.client_secret, success=True)
    assert done["status"] == "succeeded"
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


def test_three_d_secure_failure(sandbox, client):
    pi = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_threeDSecure2Required"})
    sandbox.complete_3ds(pi.id, pi.client_secret, success=False)
    after = client.v1.payment_intents.retrieve(pi.id)
    assert after.status == "requires_payment_method"
    assert after.last_payment_error.code == "payment_intent_authentication_failure"
    assert after.next_action is None


def test_three_d_secure_then_insufficient_funds(sandbox, client):
    pi = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    client.v1.payment_intents.confirm(pi.id, {"payment_method": _pm(client, "4000008260003178").id})
    sandbox.complete_3ds(pi.id, pi.client_secret, success=True)
    after = client.v1.payment_intents.retrieve(pi.id)
    assert after.status == "requires_payment_method"
    assert after.last_payment_error.decline_code == "insufficient_funds"
    assert after.last_payment_error.message == "Your card has insufficient funds."


def test_three_d_secure_needs_the_client_secret(sandbox, client):
    pi = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_threeDSecure2Required"})
    r = http(
        "POST",
        f"{sandbox.url}/_sandbox/three_d_secure/{pi.id}",
        key=None,
        data={"client_secret": "pi_x_secret_wrong", "outcome": "complete"},
    )
    assert r.status == 400
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_action"


@pytest.mark.parametrize(
    ("card", "code", "param"),
    [
        ({"number": "4242424242424241"}, "incorrect_number", "card[number]"),
        (
            {"number": "4242424242424242", "exp_month": 13},
            "invalid_expiry_month",
            "card[exp_month]",
        ),
        ({"number": "4242424242424242", "exp_year": 2001}, "invalid_expiry_year", "card[exp_year]"),
        ({"number": "4242424242424242", "cvc": "12"}, "invalid_cvc", "card[cvc]"),
    ],
)
def test_bad_card_details_are_card_errors(client, card, code, param):
    with pytest.raises(stripe.CardError) as e:
        _pm(client, **card)
    assert (e.value.code, e.value.param, e.value.http_status) == (code, param, 402)


def test_processing_then_succeeded(sandbox, client):
    sandbox.configure_faults(processing_seconds=0.2)
    pi = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    first = client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})
    assert first.status == "processing"
    deadline = time.monotonic() + 5
    while client.v1.payment_intents.retrieve(pi.id).status != "succeeded":
        assert time.monotonic() < deadline, "never settled"
        time.sleep(0.05)
    types = [e.type for e in client.v1.events.list({"limit": 10}).data]
    assert "payment_intent.processing" in types and "payment_intent.succeeded" in types
