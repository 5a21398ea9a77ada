"""Webhooks: Stripe's signature, platform vs Connect endpoints, async delivery and retries."""

from __future__ import annotations

import time

import pytest
import stripe

import stripe_sandbox
from stripe_sandbox import HARBOUR_GP_ACCOUNT_ID
from stripe_sandbox.tests.helpers import HARBOUR, http, make_client

SECRET = "whsec_test_secret_for_sandbox"


def test_deliveries_verify_with_construct_event(sandbox, client, receiver):
    sandbox.add_webhook_endpoint(receiver.url, secret=SECRET)
    pi = client.v1.payment_intents.create(
        {"amount": 4500, "currency": "aud", "payment_method": "pm_card_visa", "confirm": True}
    )
    received = receiver.wait_for(3)
    assert [e["type"] for e in received] == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]
    for raw in receiver.received:
        header = raw["headers"]["Stripe-Signature"]
        assert header.startswith("t=") and ",v1=" in header
        event = stripe.Webhook.construct_event(raw["body"], header, SECRET)
        assert event.data.object.id in (pi.id, pi.latest_charge)
        assert "account" not in event  # a platform event
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(raw["body"], header, "whsec_wrong")
    assert received[-1]["data"]["object"]["status"] == "succeeded"


def test_signature_matches_stripe_scheme():
    payload = '{"id": "evt_1"}'
    header = stripe_sandbox.sign(payload, SECRET, 1700000000)
    assert header == stripe.WebhookSignature.generate_signature_header(payload, SECRET, 1700000000)


def test_connect_and_platform_endpoints_get_their_own_events(connected, client, receiver):
    platform = connected.add_webhook_endpoint(receiver.url + "?platform", secret=SECRET)
    connect = connected.add_webhook_endpoint(receiver.url + "?connect", connect=True)
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"}, HARBOUR)
    client.v1.payment_intents.create({"amount": 5500, "currency": "aud"})
    assert connected.wait_for_webhooks()
    by_endpoint: dict[str, list[str]] = {}
    for d in connected.deliveries():
        by_endpoint.setdefault(d["endpoint"], []).append(d["event"])
    platform_events = [client.v1.events.retrieve(e) for e in by_endpoint[platform["id"]]]
    connect_events = [
        client.v1.events.retrieve(e, options=HARBOUR) for e in by_endpoint[connect["id"]]
    ]
    assert [e.data.object.amount for e in platform_events] == [5500]
    assert [e.data.object.amount for e in connect_events] == [4500]
    assert connect_events[0].account == HARBOUR_GP_ACCOUNT_ID


def test_delivery_is_asynchronous(sandbox, client, receiver):
    receiver.gate.clear()  # the endpoint hangs until released
    sandbox.add_webhook_endpoint(receiver.url)
    started = time.monotonic()
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    # Synchronous delivery would hang here until the gate opens (never, before the assert).
    assert time.monotonic() - started < 3
    assert receiver.received == []
    receiver.gate.set()
    receiver.wait_for(1)


def test_failed_deliveries_are_retried_with_backoff(sandbox, client, receiver):
    receiver.statuses = [500, 503]
    sandbox.add_webhook_endpoint(receiver.url)
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    receiver.wait_for(3)
    attempts = [r["at"] for r in receiver.received]
    assert [r["status"] for r in receiver.received] == [500, 503, 200]
    # backoff 0.05 s, doubled: the second wait is longer than the first
    assert attempts[1] - attempts[0] >= 0.045
    assert attempts[2] - attempts[1] >= 0.09
    assert len({r["body"] for r in receiver.received}) == 1  # the same event each time
    assert sandbox.wait_for_webhooks()
    log = sandbox.deliveries()
    assert [d["outcome"] for d in log] == ["retrying", "retrying", "delivered"]
    assert [d["attempt"] for d in log] == [1, 2, 3]


def test_timeouts_are_retried(sandbox, client, receiver):
    receiver.sleep = 1.3  # longer than the 1 s timeout of the test server
    sandbox.add_webhook_endpoint(receiver.url)
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    deadline = time.monotonic() + 5
    while not sandbox.deliveries():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    receiver.sleep = 0
    assert sandbox.wait_for_webhooks(10)
    log = sandbox.deliveries()
    assert log[0]["outcome"] == "retrying" and "timed out" in (log[0]["error"] or "")
    assert log[-1]["outcome"] == "delivered"


def test_gives_up_after_max_attempts(sandbox, client, receiver):
    receiver.statuses = [500] * 10
    sandbox.add_webhook_endpoint(receiver.url)
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    assert sandbox.wait_for_webhooks(5)
    assert [d["outcome"] for d in sandbox.deliveries()] == ["retrying"] * 3 + ["failed"]
    assert client.v1.events.list({"delivery_success": False}).data[0].pending_webhooks == 1


def test_delivery_success_filter(sandbox, client, receiver):
    sandbox.add_webhook_endpoint(receiver.url)
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    assert sandbox.wait_for_webhooks()
    receiver.statuses = [500] * 10
    sandbox.pause_webhooks()
    pending = client.v1.payment_intents.create({"amount": 4600, "currency": "aud"})
    assert [e.data.object.id for e in client.v1.events.list({"delivery_success": False}).data] == [
        pending.id
    ]
    delivered = client.v1.events.list({"delivery_success": True}).data
    assert len(delivered) == 1 and delivered[0].pending_webhooks == 0


def test_endpoints_from_start_and_control_api(receiver):
    with stripe_sandbox.start(
        webhook_endpoints=[{"url": receiver.url, "secret": SECRET}], webhook_backoff_seconds=0.05
    ) as s:
        listed = http("GET", f"{s.url}/_sandbox/webhook_endpoints", key=None).body["data"]
        assert [(e["url"], e["secret"], e["connect"]) for e in listed] == [
            (receiver.url, SECRET, False)
        ]
        added = http(
            "POST",
            f"{s.url}/_sandbox/webhook_endpoints",
            key=None,
            data={"url": receiver.url + "?2", "connect": True},
        )
        assert added.status == 200 and added.body["secret"].startswith("whsec_")
        bad = http(
            "POST",
            f"{s.url}/_sandbox/webhook_endpoints",
            key=None,
            data={"url": "file:///etc/passwd"},
        )
        assert bad.status == 400
        make_client(s.url).v1.payment_intents.create({"amount": 4500, "currency": "aud"})
        event = receiver.wait_for(1)[0]
        stripe.Webhook.construct_event(
            receiver.received[0]["body"],
            receiver.received[0]["headers"]["Stripe-Signature"],
            SECRET,
        )
        assert event["type"] == "payment_intent.created"
        s.reset()  # endpoints given at start-up survive a reset; added ones do not
        after = http("GET", f"{s.url}/_sandbox/webhook_endpoints", key=None).body["data"]
        assert [e["url"] for e in after] == [receiver.url]


def test_enabled_events_filter(sandbox, client, receiver):
    sandbox.add_webhook_endpoint(receiver.url, enabled_events=["payment_intent.succeeded"])
    client.v1.payment_intents.create(
        {"amount": 4500, "currency": "aud", "payment_method": "pm_card_visa", "confirm": True}
    )
    assert sandbox.wait_for_webhooks()
    assert [e["type"] for e in receiver.events()] == ["payment_intent.succeeded"]


def test_every_event_type_reaches_the_connect_endpoint(sandbox, client, receiver):
    connect = sandbox.add_webhook_endpoint(receiver.url + "?connect", connect=True)
    platform = sandbox.add_webhook_endpoint(receiver.url + "?platform")
    sandbox.connect_account(HARBOUR_GP_ACCOUNT_ID)
    pis = client.v1.payment_intents
    first = pis.create({"amount": 4500, "currency": "aud"}, HARBOUR)
    pis.confirm(first.id, {"payment_method": "pm_card_threeDSecure2Required"}, HARBOUR)
    sandbox.complete_3ds(first.id, first.client_secret, success=False)
    pis.cancel(first.id, None, HARBOUR)
    sandbox.configure_faults(processing_seconds=0.05)
    paid = pis.create(
        {"amount": 4500, "currency": "aud", "payment_method": "pm_card_visa", "confirm": True},
        HARBOUR,
    )
    deadline = time.monotonic() + 5
    while pis.retrieve(paid.id, options=HARBOUR).status != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    client.v1.refunds.create({"payment_intent": paid.id, "amount": 500}, HARBOUR)
    sandbox.disconnect_account(HARBOUR_GP_ACCOUNT_ID)
    assert sandbox.wait_for_webhooks()
    log = sandbox.deliveries()
    assert all(d["endpoint"] == connect["id"] for d in log)
    assert not any(d["endpoint"] == platform["id"] for d in log)
    events = receiver.events()
    assert all(e["account"] == HARBOUR_GP_ACCOUNT_ID for e in events)
    assert {e["type"] for e in events} == {
        "account.application.authorized",
        "payment_intent.created",
        "payment_intent.requires_action",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.processing",
        "charge.succeeded",
        "payment_intent.succeeded",
        "refund.created",
        "charge.refunded",
        "account.application.deauthorized",
    }
