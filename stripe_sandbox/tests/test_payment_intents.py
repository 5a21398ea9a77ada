"""PaymentIntents through the official SDK: lifecycle, fields, amount and currency rules, and
bad input that must change nothing."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox.tests.helpers import HARBOUR, http


def _count(client: stripe.StripeClient, **opts: object) -> tuple[int, int]:
    """How many PaymentIntents and events exist - bad input must change neither."""
    pis = client.v1.payment_intents.list({"limit": 100}, opts or None)  # type: ignore[arg-type]
    events = client.v1.events.list({"limit": 100}, opts or None)  # type: ignore[arg-type]
    return len(pis.data), len(events.data)


def test_create_returns_stripe_fields(client):
    pi = client.v1.payment_intents.create(
        {
            "amount": 4500,
            "currency": "AUD",
            "description": "Consultation",
            "receipt_email": "pat@example.com",
            "metadata": {"payment_request": "pr_1", "clinic": "harbour"},
            "statement_descriptor_suffix": "HARBOUR GP",
            "application_fee_amount": 100,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    assert pi.id.startswith("pi_")
    assert pi.object == "payment_intent"
    assert pi.status == "requires_payment_method"
    assert pi.currency == "aud"
    assert pi.client_secret.startswith(f"{pi.id}_secret_")
    assert pi.metadata.to_dict() == {"payment_request": "pr_1", "clinic": "harbour"}
    assert pi.description == "Consultation"
    assert pi.receipt_email == "pat@example.com"
    assert pi.statement_descriptor_suffix == "HARBOUR GP"
    assert pi.application_fee_amount == 100
    assert pi.automatic_payment_methods.enabled is True
    assert pi.latest_charge is None and pi.last_payment_error is None and pi.livemode is False


def test_retrieve_update_and_metadata_rules(client):
    pi = client.v1.payment_intents.create(
        {"amount": 1000, "currency": "aud", "metadata": {"a": "1", "b": "2"}}
    )
    updated = client.v1.payment_intents.update(
        pi.id, {"amount": 2000, "description": "Follow-up", "metadata": {"a": "", "c": "3"}}
    )
    assert updated.amount == 2000
    assert updated.description == "Follow-up"
    assert updated.metadata.to_dict() == {"b": "2", "c": "3"}  # empty value unsets a key
    again = client.v1.payment_intents.retrieve(pi.id)
    assert again.amount == 2000 and again.metadata.to_dict() == {"b": "2", "c": "3"}
    cleared = client.v1.payment_intents.update(pi.id, {"metadata": ""})
    assert cleared.metadata.to_dict() == {}


def test_confirm_succeeds_with_expandable_latest_charge(client):
    pi = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    done = client.v1.payment_intents.confirm(
        pi.id, {"payment_method": "pm_card_visa", "receipt_email": "pat@example.com"}
    )
    assert done.status == "succeeded"
    assert done.amount_received == 4500
    assert done.receipt_email == "pat@example.com"
    assert done.latest_charge.startswith("ch_")
    assert done.payment_method.startswith("pm_") and done.payment_method != "pm_card_visa"
    expanded = client.v1.payment_intents.retrieve(pi.id, {"expand": ["latest_charge"]})
    charge = expanded.latest_charge
    assert charge.id == done.latest_charge and charge.object == "charge"
    card = charge.payment_method_details.card
    assert (card.brand, card.last4, card.exp_month) == ("visa", "4242", 12)
    assert card.exp_year >= 2026
    assert charge.amount_refunded == 0 and charge.refunded is False and charge.paid is True


def test_create_with_confirm_true(client):
    pi = client.v1.payment_intents.create(
        {"amount": 800, "currency": "aud", "payment_method": "pm_card_mastercard", "confirm": True}
    )
    assert pi.status == "succeeded"
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.payment_method_details.card.brand == "mastercard"


def test_update_with_payment_method_then_confirm(client):
    pi = client.v1.payment_intents.create({"amount": 800, "currency": "aud"})
    ready = client.v1.payment_intents.update(pi.id, {"payment_method": "pm_card_visa"})
    assert ready.status == "requires_confirmation"
    assert client.v1.payment_intents.confirm(pi.id).status == "succeeded"


def test_cancel_and_confirming_a_canceled_intent_fails(client):
    pi = client.v1.payment_intents.create({"amount": 1000, "currency": "aud"})
    canceled = client.v1.payment_intents.cancel(pi.id, {"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "abandoned" and canceled.canceled_at
    before = _count(client)
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"})
    assert e.value.code == "payment_intent_unexpected_state"
    assert e.value.http_status == 400
    assert "status of canceled" in e.value.user_message
    assert client.v1.payment_intents.retrieve(pi.id).status == "canceled"
    assert _count(client) == before


def test_cannot_cancel_a_succeeded_intent(client):
    pi = client.v1.payment_intents.create(
        {"amount": 1000, "currency": "aud", "payment_method": "pm_card_visa", "confirm": True}
    )
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.payment_intents.cancel(pi.id)
    assert e.value.code == "payment_intent_unexpected_state"


def test_cannot_change_amount_after_success(client):
    pi = client.v1.payment_intents.create(
        {"amount": 1000, "currency": "aud", "payment_method": "pm_card_visa", "confirm": True}
    )
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.payment_intents.update(pi.id, {"amount": 5000})
    assert e.value.code == "payment_intent_unexpected_state"
    assert client.v1.payment_intents.retrieve(pi.id).amount == 1000
    # description and metadata may still change, as on Stripe
    assert client.v1.payment_intents.update(pi.id, {"description": "x"}).description == "x"


def test_list_pagination(client):
    ids = [
        client.v1.payment_intents.create({"amount": 100 + i, "currency": "aud"}).id
        for i in range(5)
    ]
    page = client.v1.payment_intents.list({"limit": 2})
    assert page.object == "list" and page.url == "/v1/payment_intents"
    assert [p.id for p in page.data] == ids[::-1][:2]  # newest first
    assert page.has_more is True
    nxt = client.v1.payment_intents.list({"limit": 2, "starting_after": page.data[-1].id})
    assert [p.id for p in nxt.data] == ids[::-1][2:4]
    prev = client.v1.payment_intents.list({"limit": 2, "ending_before": nxt.data[0].id})
    assert [p.id for p in prev.data] == ids[::-1][:2]
    everything = [p.id for p in client.v1.payment_intents.list({"limit": 2}).auto_paging_iter()]
    assert everything == ids[::-1]
    expanded = client.v1.payment_intents.list({"limit": 1, "expand": ["data.latest_charge"]})
    assert expanded.data[0].latest_charge is None


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        (-100, "aud", "parameter_invalid_integer"),
        (0, "aud", "parameter_invalid_integer"),
        (100_000_000, "aud", "amount_too_large"),  # nine digits
        (49, "aud", "amount_too_small"),
        (49, "usd", "amount_too_small"),
        (49, "eur", "amount_too_small"),
        (29, "gbp", "amount_too_small"),
        (49, "jpy", "amount_too_small"),  # zero-decimal: ¥49
        (150050, "isk", "parameter_invalid_integer"),  # ISK must be whole krónur (…00)
    ],
)
def test_bad_amounts_are_refused_without_change(client, amount, currency, code):
    before = _count(client)
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.payment_intents.create({"amount": amount, "currency": currency})
    assert e.value.code == code
    assert e.value.param == "amount"
    assert e.value.http_status == 400
    assert _count(client) == before


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(50, "aud"), (30, "gbp"), (50, "jpy"), (99_999_999, "aud"), (150000, "isk"), (50, "usd")],
)
def test_smallest_and_largest_amounts_are_accepted(client, amount, currency):
    assert (
        client.v1.payment_intents.create({"amount": amount, "currency": currency}).amount == amount
    )


def test_unknown_currency(client):
    before = _count(client)
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.payment_intents.create({"amount": 1000, "currency": "xyz"})
    assert e.value.param == "currency"
    assert "Invalid currency: xyz" in e.value.user_message
    assert _count(client) == before


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"amount": 1000, "currency": "aud", "colour": "red"}, "colour"),
        (
            {
                "amount": 1000,
                "currency": "aud",
                "automatic_payment_methods": {"enabled": True, "x": "1"},
            },
            "automatic_payment_methods[x]",
        ),
    ],
)
def test_unknown_parameters_are_named(client, params, param):
    before = _count(client)
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.payment_intents.create(params)
    assert e.value.code == "parameter_unknown"
    assert e.value.param == param
    assert e.value.user_message == f"Received unknown parameter: {param}"
    assert _count(client) == before


def test_error_json_shape_and_wrong_types(sandbox):
    r = http("POST", f"{sandbox.url}/v1/payment_intents", data="amount=ten&currency=aud")
    assert r.status == 400
    assert r.body["error"]["type"] == "invalid_request_error"
    assert r.body["error"]["code"] == "parameter_invalid_integer"
    assert r.body["error"]["param"] == "amount"
    assert r.body["error"]["message"] == "Invalid integer: ten"
    r = http(
        "POST",
        f"{sandbox.url}/v1/payment_intents",
        data="amount=100&currency=aud&metadata=notahash",
    )
    assert r.status == 400 and r.body["error"]["param"] == "metadata"
    r = http(
        "POST",
        f"{sandbox.url}/v1/payment_intents",
        data="amount=100&currency=aud&automatic_payment_methods[enabled]=maybe",
    )
    assert r.body["error"]["param"] == "automatic_payment_methods[enabled]"
    r = http("POST", f"{sandbox.url}/v1/payment_intents", data="currency=aud")
    assert r.body["error"]["code"] == "parameter_missing" and r.body["error"]["param"] == "amount"
    listing = http("GET", f"{sandbox.url}/v1/payment_intents")
    assert listing.body["data"] == []


def test_missing_object_is_resource_missing(client):
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.payment_intents.retrieve("pi_doesnotexist")
    assert e.value.http_status == 404 and e.value.code == "resource_missing"
    assert e.value.param == "intent"


def test_unknown_url(sandbox):
    r = http("GET", f"{sandbox.url}/v1/customers")
    assert r.status == 404
    assert r.body["error"]["message"].startswith("Unrecognized request URL (GET: /v1/customers)")


def test_works_on_a_connected_account(connected):
    from stripe_sandbox.tests.helpers import make_client

    client = make_client(connected.url)
    pi = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"}, HARBOUR)
    done = client.v1.payment_intents.confirm(pi.id, {"payment_method": "pm_card_visa"}, HARBOUR)
    assert done.status == "succeeded"
