"""Events: retrieve and list with Stripe's filters and pagination."""

from __future__ import annotations

import time

import pytest
import stripe


def test_retrieve_and_list_with_filters(client):
    pi = client.v1.payment_intents.create(
        {"amount": 4500, "currency": "aud", "payment_method": "pm_card_visa", "confirm": True}
    )
    events = client.v1.events.list()
    assert events.object == "list" and events.url == "/v1/events"
    assert [e.type for e in events.data] == [
        "payment_intent.succeeded",
        "charge.succeeded",
        "payment_intent.created",
    ]
    one = client.v1.events.retrieve(events.data[0].id)
    assert one.data.object.id == pi.id and one.api_version and one.livemode is False
    assert one.request.id.startswith("req_")
    assert [e.type for e in client.v1.events.list({"type": "payment_intent.*"}).data] == [
        "payment_intent.succeeded",
        "payment_intent.created",
    ]
    assert [e.type for e in client.v1.events.list({"type": "charge.succeeded"}).data] == [
        "charge.succeeded"
    ]
    both = client.v1.events.list({"types": ["charge.succeeded", "payment_intent.created"]})
    assert len(both.data) == 2


def test_created_filters(client):
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    now = int(time.time())
    assert len(client.v1.events.list({"created": {"gte": now - 5}}).data) == 1
    assert client.v1.events.list({"created": {"gt": now + 5}}).data == []
    assert client.v1.events.list({"created": {"lt": now - 5}}).data == []
    assert len(client.v1.events.list({"created": {"lte": now + 5}}).data) == 1


def test_pagination(client):
    for i in range(4):
        client.v1.payment_intents.create({"amount": 4500 + i, "currency": "aud"})
    page = client.v1.events.list({"limit": 3})
    assert page.has_more is True and len(page.data) == 3
    rest = client.v1.events.list({"limit": 3, "starting_after": page.data[-1].id})
    assert rest.has_more is False and len(rest.data) == 1
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.list({"limit": 101})
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.events.list({"starting_after": "evt_unknown"})
    assert e.value.param == "starting_after"


def test_unknown_event(client):
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.events.retrieve("evt_nope")
    assert e.value.code == "resource_missing" and e.value.http_status == 404
