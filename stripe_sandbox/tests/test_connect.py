"""`Stripe-Account` partitions everything; bad or disconnected accounts get Stripe's errors."""

from __future__ import annotations

import json

import pytest
import stripe

from stripe_sandbox import HARBOUR_GP_ACCOUNT_ID, NORTHSIDE_PHYSIO_ACCOUNT_ID, PLATFORM_ACCOUNT_ID
from stripe_sandbox.tests.helpers import CLIENT_ID, HARBOUR, NORTHSIDE, error_of, http


def test_object_of_one_account_is_missing_under_another(connected, client):
    pi = client.v1.payment_intents.create(
        {"amount": 4500, "currency": "aud", "payment_method": "pm_card_visa", "confirm": True},
        HARBOUR,
    )
    assert client.v1.payment_intents.retrieve(pi.id, options=HARBOUR).id == pi.id
    for opts in (NORTHSIDE, None):
        with pytest.raises(stripe.InvalidRequestError) as e:
            client.v1.payment_intents.retrieve(pi.id, options=opts)
        assert e.value.code == "resource_missing" and e.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.retrieve(pi.latest_charge, options=NORTHSIDE)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create({"payment_intent": pi.id}, NORTHSIDE)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.confirm(pi.id, options=NORTHSIDE)
    assert client.v1.payment_intents.list(options=NORTHSIDE).data == []


def test_platform_objects_are_invisible_to_connected_accounts(connected, client):
    platform_pi = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.retrieve(platform_pi.id, options=HARBOUR)
    client.v1.payment_intents.create({"amount": 999, "currency": "aud"}, HARBOUR)
    assert [p.id for p in client.v1.payment_intents.list().data] == [platform_pi.id]
    assert all("account" not in e for e in client.v1.events.list().data)
    connected_events = client.v1.events.list(options=HARBOUR).data
    assert connected_events and all(e.account == HARBOUR_GP_ACCOUNT_ID for e in connected_events)


def _counts(server) -> dict[tuple[str, str], int]:
    """How many PaymentIntents, charges, refunds and events each account holds."""
    state = server.sandbox.state
    with state.lock:
        counts: dict[tuple[str, str], int] = {}
        for account in (PLATFORM_ACCOUNT_ID, HARBOUR_GP_ACCOUNT_ID, NORTHSIDE_PHYSIO_ACCOUNT_ID):
            for kind in ("payment_intent", "charge", "refund", "event"):
                counts[(account, kind)] = len(state.list_objects(account, kind))
        return counts


def _objects(server) -> str:
    state = server.sandbox.state
    with state.lock:
        return json.dumps(state.objects, sort_keys=True)


UNKNOWN: stripe.RequestOptions = {"stripe_account": "acct_1NoSuchAccount00"}


def test_unknown_account(connected, client):
    paid = client.v1.payment_intents.create(
        {"amount": 4500, "currency": "aud", "payment_method": "pm_card_visa", "confirm": True},
        HARBOUR,
    )
    unpaid = client.v1.payment_intents.create(
        {"amount": 2500, "currency": "aud", "payment_method": "pm_card_visa"}, HARBOUR
    )
    client.v1.payment_intents.create({"amount": 999, "currency": "aud"})  # the platform's own
    counts, objects = _counts(connected), _objects(connected)
    assert counts[(HARBOUR_GP_ACCOUNT_ID, "payment_intent")] == 2
    assert counts[(PLATFORM_ACCOUNT_ID, "payment_intent")] == 1
    assert counts[(HARBOUR_GP_ACCOUNT_ID, "event")] > 0

    with pytest.raises(stripe.PermissionError) as e:
        client.v1.payment_intents.list(options=UNKNOWN)
    assert e.value.http_status == 403
    assert error_of(e.value)["code"] == "account_invalid"
    assert "does not have access to account 'acct_1NoSuchAccount00'" in e.value.user_message
    refused = [
        lambda: client.v1.payment_intents.create({"amount": 4500, "currency": "aud"}, UNKNOWN),
        lambda: client.v1.payment_intents.confirm(unpaid.id, options=UNKNOWN),
        lambda: client.v1.refunds.create({"payment_intent": paid.id}, UNKNOWN),
    ]
    for attempt in refused:
        with pytest.raises(stripe.PermissionError) as e:
            attempt()
        assert error_of(e.value)["code"] == "account_invalid"
    assert _counts(connected) == counts
    assert _objects(connected) == objects
    assert "acct_1NoSuchAccount00" not in connected.sandbox.state.objects
    assert client.v1.payment_intents.retrieve(unpaid.id, options=HARBOUR).status == (
        "requires_confirmation"
    )


def test_seeded_but_not_connected_account_is_refused(sandbox, client):
    with pytest.raises(stripe.PermissionError):
        client.v1.payment_intents.create({"amount": 4500, "currency": "aud"}, HARBOUR)
    sandbox.connect_account(HARBOUR_GP_ACCOUNT_ID)
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"}, HARBOUR)


def test_disconnected_account_is_refused(connected, client):
    paid = client.v1.payment_intents.create(
        {"amount": 4500, "currency": "aud", "payment_method": "pm_card_visa", "confirm": True},
        HARBOUR,
    )
    unpaid = client.v1.payment_intents.create(
        {"amount": 2500, "currency": "aud", "payment_method": "pm_card_visa"}, HARBOUR
    )
    client.v1.payment_intents.create({"amount": 999, "currency": "aud"})  # the platform's own
    connected.disconnect_account(HARBOUR_GP_ACCOUNT_ID)
    counts, objects = _counts(connected), _objects(connected)
    assert counts[(HARBOUR_GP_ACCOUNT_ID, "payment_intent")] == 2
    assert counts[(PLATFORM_ACCOUNT_ID, "payment_intent")] == 1
    assert counts[(HARBOUR_GP_ACCOUNT_ID, "event")] > 0

    with pytest.raises(stripe.PermissionError):
        client.v1.payment_intents.list(options=HARBOUR)
    refused = [
        lambda: client.v1.payment_intents.create({"amount": 4500, "currency": "aud"}, HARBOUR),
        lambda: client.v1.payment_intents.confirm(unpaid.id, options=HARBOUR),
        lambda: client.v1.refunds.create({"payment_intent": paid.id}, HARBOUR),
    ]
    for attempt in refused:
        with pytest.raises(stripe.PermissionError) as e:
            attempt()
        assert error_of(e.value)["code"] == "account_invalid"
    # Nothing changed anywhere: no PaymentIntent, charge, refund or event, for the platform,
    # the disconnected account or the other one.
    assert _counts(connected) == counts
    assert _objects(connected) == objects
    connected.connect_account(HARBOUR_GP_ACCOUNT_ID, CLIENT_ID)
    assert client.v1.payment_intents.retrieve(unpaid.id, options=HARBOUR).status == (
        "requires_confirmation"
    )
    assert client.v1.payment_intents.retrieve(paid.id, options=HARBOUR).amount_received == 4500
    assert client.v1.refunds.list(options=HARBOUR).data == []


def test_retrieve_connected_accounts(connected, client):
    acct = client.v1.accounts.retrieve(HARBOUR_GP_ACCOUNT_ID)
    assert acct.id == HARBOUR_GP_ACCOUNT_ID and acct.object == "account"
    assert acct.business_profile.name == "Harbour GP Pty Ltd"
    assert (acct.country, acct.default_currency) == ("AU", "aud")
    assert acct.charges_enabled is True and acct.payouts_enabled is True
    assert acct.email
    other = client.v1.accounts.retrieve(NORTHSIDE_PHYSIO_ACCOUNT_ID)
    assert other.business_profile.name == "Northside Physio"
    assert client.v1.accounts.retrieve_current(options=HARBOUR).id == HARBOUR_GP_ACCOUNT_ID
    assert client.v1.accounts.retrieve_current().id == PLATFORM_ACCOUNT_ID


def test_retrieve_unconnected_account_is_refused(sandbox, client):
    with pytest.raises(stripe.PermissionError) as e:
        client.v1.accounts.retrieve(HARBOUR_GP_ACCOUNT_ID)
    assert error_of(e.value)["code"] == "account_invalid"


def test_missing_stripe_account_header_acts_as_platform(connected, client):
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"}, HARBOUR)
    r = http("GET", f"{connected.url}/v1/payment_intents")
    assert r.status == 200 and r.body["data"] == []
