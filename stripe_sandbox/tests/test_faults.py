"""Fault switches for reliability tests, through the control API and the Python handle."""

from __future__ import annotations

import threading
import time

import pytest
import stripe

from stripe_sandbox import HARBOUR_GP_ACCOUNT_ID
from stripe_sandbox.tests.helpers import HARBOUR, error_of, http, make_client


def control(sandbox, method: str, path: str, data: dict | None = None):
    return http(method, f"{sandbox.url}/_sandbox/{path}", data=data, key=None)


def _creates(client, n: int) -> list[str]:
    outcomes = []
    for _ in range(n):
        try:
            client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
            outcomes.append("ok")
        except stripe.StripeError as e:
            outcomes.append(str(e.http_status))
    return outcomes


def test_api_latency(sandbox, client):
    # Far apart on purpose: a loaded CI machine may take a while for a plain call, never 0.8 s.
    r = control(sandbox, "POST", "faults", {"api_latency_ms": 1200})
    assert r.status == 200 and r.body["api_latency_ms"] == 1200
    started = time.monotonic()
    client.v1.payment_intents.list()
    assert time.monotonic() - started >= 1.2
    control(sandbox, "DELETE", "faults")
    started = time.monotonic()
    client.v1.payment_intents.list()
    assert time.monotonic() - started < 0.8


def test_api_500_before_changes_nothing(sandbox, client):
    sandbox.configure_faults(api_error_rate=1.0, api_error_status=500)
    with pytest.raises(stripe.APIError) as e:
        client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    assert e.value.http_status == 500 and error_of(e.value)["type"] == "api_error"
    sandbox.clear_faults()
    assert client.v1.payment_intents.list().data == []


def test_api_500_after_runs_and_idempotent_retry_replays(sandbox, client):
    """The answer is lost but the payment was made: the same key must not pay twice."""
    sandbox.configure_faults(api_error_rate=1.0, api_error_when="after")
    params = {"amount": 4500, "currency": "aud", "payment_method": "pm_card_visa", "confirm": True}
    with pytest.raises(stripe.APIError):
        client.v1.payment_intents.create(params, {"idempotency_key": "pr_42"})
    sandbox.clear_faults()
    assert len(client.v1.payment_intents.list().data) == 1  # it did run
    replay = client.v1.payment_intents.create(params, {"idempotency_key": "pr_42"})
    assert replay.status == "succeeded"
    assert replay.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(client.v1.payment_intents.list().data) == 1


def test_sdk_retries_through_a_flaky_api_with_one_charge(sandbox):
    sandbox.configure_faults(api_error_rate=0.5, seed=7, api_error_when="after")
    client = make_client(sandbox.url, max_network_retries=10)
    created = {
        client.v1.payment_intents.create(
            {"amount": 4500, "currency": "aud"}, {"idempotency_key": f"k{i}"}
        ).id
        for i in range(3)
    }
    sandbox.clear_faults()
    assert len(created) == 3
    assert len(client.v1.payment_intents.list().data) == 3


def test_api_429_rate_limit(sandbox, client):
    control(sandbox, "POST", "faults", {"api_error_rate": 1, "api_error_status": 429})
    with pytest.raises(stripe.RateLimitError) as e:
        client.v1.payment_intents.list()
    assert e.value.http_status == 429 and error_of(e.value)["code"] == "rate_limit"


def test_error_share_is_deterministic_with_a_seed(sandbox, client):
    sandbox.configure_faults(api_error_rate=0.5, seed=1234)
    first = _creates(client, 12)
    sandbox.configure_faults(seed=1234)
    second = _creates(client, 12)
    assert first == second
    assert "ok" in first and "500" in first


def test_error_paths_limit_where_faults_apply(sandbox, client):
    sandbox.configure_faults(api_error_rate=1.0, api_error_paths=["/v1/refunds"])
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    with pytest.raises(stripe.APIError):
        client.v1.refunds.list()


def test_bad_fault_settings_are_refused(sandbox):
    for body in (
        {"api_error_rate": 2},
        {"nope": 1},
        {"api_error_status": 404},
        {"api_error_when": "during"},
    ):
        r = control(sandbox, "POST", "faults", body)
        assert r.status == 400, body
    assert control(sandbox, "GET", "faults").body["api_error_rate"] == 0


def _paid(client, opts=None):
    return client.v1.payment_intents.create(
        {"amount": 4500, "currency": "aud", "payment_method": "pm_card_visa", "confirm": True},
        opts,
    )


def test_webhook_delay(sandbox, client, receiver):
    sandbox.add_webhook_endpoint(receiver.url)
    control(sandbox, "POST", "faults", {"webhook_delay_seconds": 0.3})
    started = time.monotonic()
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    receiver.wait_for(1)
    assert receiver.received[0]["at"] - started >= 0.3


def test_webhook_drop(sandbox, client, receiver):
    sandbox.add_webhook_endpoint(receiver.url)
    sandbox.configure_faults(webhook_drop_rate=1.0)
    _paid(client)
    assert sandbox.wait_for_webhooks()
    assert receiver.received == []
    assert {d["outcome"] for d in sandbox.deliveries()} == {"dropped"}
    assert len(client.v1.events.list({"delivery_success": False}).data) == 3


def test_webhook_duplicate(sandbox, client, receiver):
    sandbox.add_webhook_endpoint(receiver.url)
    sandbox.configure_faults(webhook_duplicate_rate=1.0)
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    events = receiver.wait_for(2)
    assert events[0]["id"] == events[1]["id"]
    assert sandbox.wait_for_webhooks()
    assert client.v1.events.list().data[0].pending_webhooks == 0  # counted once


def test_webhook_reorder(sandbox, client, receiver):
    sandbox.add_webhook_endpoint(receiver.url)
    control(
        sandbox, "POST", "faults", {"webhook_reorder": True, "webhook_reorder_window_seconds": 0.2}
    )
    _paid(client)
    events = receiver.wait_for(3)
    assert [e["type"] for e in events] == [
        "payment_intent.succeeded",
        "charge.succeeded",
        "payment_intent.created",
    ]


def test_webhook_pause_and_resume(sandbox, client, receiver):
    sandbox.add_webhook_endpoint(receiver.url)
    assert control(sandbox, "POST", "webhooks/pause").body == {"paused": True}
    _paid(client)
    time.sleep(0.2)
    assert receiver.received == []
    status = control(sandbox, "GET", "deliveries").body
    assert status["paused"] is True and status["pending"] == 3
    control(sandbox, "POST", "webhooks/resume")
    assert len(receiver.wait_for(3)) == 3


def test_webhook_faults_deterministic_with_seed(sandbox, client, receiver):
    sandbox.add_webhook_endpoint(receiver.url)

    def run() -> list[str]:
        sandbox.reset()
        sandbox.add_webhook_endpoint(receiver.url)
        sandbox.configure_faults(webhook_drop_rate=0.5, seed=99)
        for _ in range(4):
            client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
        assert sandbox.wait_for_webhooks()
        return [d["outcome"] for d in sandbox.deliveries()]

    first, second = run(), run()
    assert first == second and "dropped" in first and "delivered" in first


def test_reset_restores_the_seed(sandbox, client, receiver):
    sandbox.connect_account(HARBOUR_GP_ACCOUNT_ID)
    _paid(client, HARBOUR)
    sandbox.configure_faults(api_latency_ms=5)
    assert control(sandbox, "POST", "reset").body == {"reset": True}
    assert control(sandbox, "GET", "faults").body["api_latency_ms"] == 0
    assert client.v1.payment_intents.list().data == []
    with pytest.raises(stripe.PermissionError):
        client.v1.payment_intents.list(options=HARBOUR)
    accounts = control(sandbox, "GET", "accounts").body["data"]
    names = sorted(a["name"] for a in accounts if not a["platform"])
    assert names == ["Harbour GP Pty Ltd", "Northside Physio"]
    assert not any(a["connected"] for a in accounts)


def test_control_connect_and_unknown_routes(sandbox, client):
    r = control(sandbox, "POST", f"accounts/{HARBOUR_GP_ACCOUNT_ID}/connect")
    assert r.status == 200
    client.v1.payment_intents.list(options=HARBOUR)
    assert control(sandbox, "POST", f"accounts/{HARBOUR_GP_ACCOUNT_ID}/disconnect").status == 200
    with pytest.raises(stripe.PermissionError):
        client.v1.payment_intents.list(options=HARBOUR)
    assert control(sandbox, "GET", "nothing-here").status == 404
    assert control(sandbox, "GET", "health").body["ok"] is True


def test_latency_after_runs_the_call_at_once_and_holds_its_answer(sandbox, client):
    sandbox.configure_faults(
        api_latency_ms=1500,
        api_latency_when="after",
        api_latency_paths=["/v1/payment_intents"],
        api_fault_methods=["post"],
    )
    done = threading.Event()

    def create() -> None:
        client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
        done.set()

    threading.Thread(target=create, daemon=True).start()
    deadline = time.monotonic() + 1.2
    while not client.v1.payment_intents.list().data:  # a GET: not held
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert not done.is_set()  # made at Stripe, its answer still held
    assert done.wait(5)


def test_faults_apply_only_to_the_methods_named(sandbox, client):
    sandbox.configure_faults(api_error_rate=1.0, api_fault_methods=["get"])
    intent = client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    with pytest.raises(stripe.APIError):
        client.v1.payment_intents.retrieve(intent.id)
    with pytest.raises(ValueError):
        sandbox.configure_faults(api_fault_methods=["put"])


def test_every_api_request_is_counted_faults_included_until_reset(sandbox, client):
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    sandbox.configure_faults(api_error_rate=1.0, api_error_status=503)
    with pytest.raises(stripe.StripeError):
        client.v1.payment_intents.list()
    sandbox.clear_faults()
    assert sandbox.api_requests() == [
        ("POST", "/v1/payment_intents"),
        ("GET", "/v1/payment_intents"),
    ]
    assert sandbox.api_requests("/v1/payment_intents") == sandbox.api_requests()
    assert sandbox.api_requests("/v1/refunds") == []
    sandbox.reset()
    assert sandbox.api_requests() == []
