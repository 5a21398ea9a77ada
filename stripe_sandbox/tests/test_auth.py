"""API keys: any sk_test_ works, everything else gets Stripe's 401; publishable keys only
where Stripe.js uses them."""

from __future__ import annotations

import datetime

import pytest
import stripe

from stripe_sandbox import HARBOUR_GP_ACCOUNT_ID, publishable_key_for
from stripe_sandbox.tests.helpers import http, make_client

PK = "pk_test_platform_publishable"


@pytest.mark.parametrize("key", ["sk_test_abc", "sk_test_" + "x" * 99])
def test_any_test_secret_key_is_accepted(sandbox, key):
    assert make_client(sandbox.url, key=key).v1.payment_intents.list().data == []


@pytest.mark.parametrize("key", ["sk_live_abcdef123456", "rk_live_x", "nonsense", "sk_test_"])
def test_other_keys_get_401(sandbox, key):
    with pytest.raises(stripe.AuthenticationError) as e:
        make_client(sandbox.url, key=key).v1.payment_intents.list()
    assert e.value.http_status == 401
    r = http("GET", f"{sandbox.url}/v1/payment_intents", key=key)
    assert r.status == 401
    assert r.body["error"]["type"] == "invalid_request_error"
    assert r.body["error"]["message"].startswith("Invalid API Key provided: ")
    assert key not in r.body["error"]["message"] or len(key) <= 8  # keys are masked


def test_missing_key(sandbox):
    r = http("GET", f"{sandbox.url}/v1/payment_intents", key=None)
    assert r.status == 401 and "did not provide an API key" in r.body["error"]["message"]


def test_basic_auth_like_curl(sandbox):
    import base64

    token = base64.b64encode(b"sk_test_curl:").decode()
    r = http(
        "GET",
        f"{sandbox.url}/v1/payment_intents",
        key=None,
        headers={"Authorization": f"Basic {token}"},
    )
    assert r.status == 200


def test_publishable_key_cannot_create_intents(sandbox):
    r = http("POST", f"{sandbox.url}/v1/payment_intents", key=PK, data="amount=100&currency=aud")
    assert r.status == 401 and "publishable API key" in r.body["error"]["message"]
    r = http("GET", f"{sandbox.url}/v1/payment_intents", key=PK)
    assert r.status == 401


def test_publishable_key_flow_of_stripe_js(connected, client):
    opts = {"stripe_account": HARBOUR_GP_ACCOUNT_ID}
    pi = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"}, opts)
    headers = {"Stripe-Account": HARBOUR_GP_ACCOUNT_ID}
    url = f"{connected.url}/v1/payment_intents/{pi.id}"
    ok = http("GET", f"{url}?client_secret={pi.client_secret}", key=PK, headers=headers)
    assert ok.status == 200 and ok.body["id"] == pi.id
    assert http("GET", url, key=PK, headers=headers).status == 400  # no client secret
    wrong = http("GET", f"{url}?client_secret={pi.id}_secret_wrong", key=PK, headers=headers)
    assert wrong.status == 400 and wrong.body["error"]["param"] == "client_secret"
    year = datetime.date.today().year + 2
    pm = http(
        "POST",
        f"{connected.url}/v1/payment_methods",
        key=PK,
        headers=headers,
        data=f"type=card&card[number]=4242424242424242&card[exp_month]=1"
        f"&card[exp_year]={year}&card[cvc]=123",
    )
    assert pm.status == 200
    confirmed = http(
        "POST",
        f"{url}/confirm",
        key=PK,
        headers=headers,
        data=f"client_secret={pi.client_secret}&payment_method={pm.body['id']}",
    )
    assert confirmed.status == 200 and confirmed.body["status"] == "succeeded"
    no_secret = http(
        "POST", f"{url}/confirm", key=PK, headers=headers, data=f"payment_method={pm.body['id']}"
    )
    assert no_secret.status == 400


def test_account_publishable_key_acts_on_its_account(connected, client):
    opts = {"stripe_account": HARBOUR_GP_ACCOUNT_ID}
    pi = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"}, opts)
    pk = publishable_key_for(HARBOUR_GP_ACCOUNT_ID)
    r = http(
        "GET",
        f"{connected.url}/v1/payment_intents/{pi.id}?client_secret={pi.client_secret}",
        key=pk,
    )
    assert r.status == 200
    # but not on the platform's objects
    platform_pi = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    r = http(
        "GET",
        f"{connected.url}/v1/payment_intents/{platform_pi.id}"
        f"?client_secret={platform_pi.client_secret}",
        key=pk,
    )
    assert r.status == 404


def test_cors_for_stripe_js(sandbox):
    r = http(
        "OPTIONS",
        f"{sandbox.url}/v1/payment_methods",
        key=None,
        headers={"Origin": "http://127.0.0.1:9", "Access-Control-Request-Method": "POST"},
    )
    assert r.status == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert "Stripe-Account" in r.headers["access-control-allow-headers"]
    assert "Authorization" in r.headers["access-control-allow-headers"]
