"""`Stripe-Account` partitions everything; bad or disconnected accounts get Stripe's errors."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox import HARBOUR_GP_ACCOUNT_ID, NORTHSIDE_PHYSIO_ACCOUNT_ID, PLATFORM_ACCOUNT_ID

from .conftest import HARBOUR, NORTHSIDE, error_of, http


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


def test_unknown_account(connected, client):
    with pytest.raises(stripe.PermissionError) as e:
        client.v1.payment_intents.list(options={"stripe_account": "acct_1NoSuchAccount00"})
    assert e.value.http_status == 403
    assert error_of(e.value)["code"] == "account_invalid"
    assert "does not have access to account 'acct_1NoSuchAccount00'" in e.value.user_message


def test_seeded_but_not_connected_account_is_refused(sandbox, client):
    with pytest.raises(stripe.PermissionError):
        client.v1.payment_intents.create({"amount": 4500, "currency": "aud"}, HARBOUR)
    sandbox.connect_account(HARBOUR_GP_ACCOUNT_ID)
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"}, HARBOUR)


def test_disconnected_account_is_refused(connected, client):
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"}, HARBOUR)
    connected.disconnect_account(HARBOUR_GP_ACCOUNT_ID)
    with pytest.raises(stripe.PermissionError):
        client.v1.payment_intents.list(options=HARBOUR)
    before = len(client.v1.events.list(options=NORTHSIDE).data)
    with pytest.raises(stripe.PermissionError):
        client.v1.payment_intents.create({"amount": 4500, "currency": "aud"}, HARBOUR)
    assert len(client.v1.events.list(options=NORTHSIDE).data) == before


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
