"""Idempotency keys with Stripe's rules."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox.tests.helpers import HARBOUR, NORTHSIDE, http, make_client

CREATE = "amount=4500&currency=aud&description=Consultation"


def _post(sandbox, body=CREATE, key="pr_123", account=None, path="/v1/payment_intents"):
    headers = {"Idempotency-Key": key} if key else {}
    if account:
        headers["Stripe-Account"] = account
    return http("POST", sandbox.url + path, data=body, headers=headers)


def test_same_key_same_params_replays_first_response(sandbox, client):
    first = _post(sandbox)
    second = _post(sandbox)
    assert first.status == second.status == 200
    assert second.body == first.body
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(client.v1.payment_intents.list().data) == 1


def test_sdk_idempotency_key_option(client):
    a = client.v1.payment_intents.create(
        {"amount": 4500, "currency": "aud"}, {"idempotency_key": "visit-9-request-1"}
    )
    b = client.v1.payment_intents.create(
        {"amount": 4500, "currency": "aud"}, {"idempotency_key": "visit-9-request-1"}
    )
    assert a.id == b.id
    assert b.last_response.headers["Idempotent-Replayed"] == "true"


def test_replay_keeps_status_code_of_a_decline(sandbox, client):
    pi = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    path = f"/v1/payment_intents/{pi.id}/confirm"
    body = "payment_method=pm_card_chargeDeclined"
    first = _post(sandbox, body, key="confirm-1", path=path)
    again = _post(sandbox, body, key="confirm-1", path=path)
    assert first.status == again.status == 402
    assert again.body == first.body and again.headers["idempotent-replayed"] == "true"
    # only one failed attempt happened
    failed = [
        e
        for e in client.v1.events.list({"limit": 100}).data
        if e.type == "payment_intent.payment_failed"
    ]
    assert len(failed) == 1


def test_same_key_different_params_is_an_idempotency_error(sandbox, client):
    _post(sandbox)
    other = _post(sandbox, body="amount=9900&currency=aud")
    assert other.status == 400
    assert other.body["error"]["type"] == "idempotency_error"
    assert "same parameters" in other.body["error"]["message"]
    assert len(client.v1.payment_intents.list().data) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(
            {"amount": 9900, "currency": "aud"}, {"idempotency_key": "pr_123"}
        )


def test_same_key_on_another_endpoint_is_an_idempotency_error(sandbox):
    _post(sandbox)
    other = _post(
        sandbox,
        body="type=card&card[number]=4242424242424242&card[exp_month]=1&card[exp_year]=2040",
        path="/v1/payment_methods",
    )
    assert other.status == 400 and other.body["error"]["type"] == "idempotency_error"


def test_keys_are_scoped_per_account(connected):
    client = make_client(connected.url)
    a = _post(connected, account=HARBOUR["stripe_account"])
    b = _post(connected, account=NORTHSIDE["stripe_account"])
    assert a.body["id"] != b.body["id"]
    assert "idempotent-replayed" not in b.headers
    assert len(client.v1.payment_intents.list(options=HARBOUR).data) == 1
    assert len(client.v1.payment_intents.list(options=NORTHSIDE).data) == 1


def test_no_key_is_never_deduplicated(sandbox, client):
    a = _post(sandbox, key=None)
    b = _post(sandbox, key=None)
    assert a.body["id"] != b.body["id"]
    assert len(client.v1.payment_intents.list().data) == 2


def test_validation_errors_are_not_saved(sandbox, client):
    bad = _post(sandbox, body="amount=10&currency=aud", key="fix-me")
    assert bad.status == 400 and bad.body["error"]["code"] == "amount_too_small"
    fixed = _post(sandbox, body="amount=1000&currency=aud", key="fix-me")
    assert fixed.status == 200 and "idempotent-replayed" not in fixed.headers


def test_keys_expire_after_24_hours(sandbox):
    _post(sandbox)
    with sandbox.sandbox.state.lock:  # age the record instead of waiting a day
        for record in sandbox.sandbox.state.idempotency.values():
            record["created"] -= 24 * 3600 + 1
    _post(sandbox, key="another")  # any keyed request prunes expired keys
    reused = _post(sandbox, body="amount=9900&currency=aud")
    assert reused.status == 200 and reused.body["amount"] == 9900
