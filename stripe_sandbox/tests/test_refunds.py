"""Refunds: full and partial, never more than what is left, reflected on the charge."""

from __future__ import annotations

import pytest
import stripe


@pytest.fixture
def paid(client):
    return client.v1.payment_intents.create(
        {"amount": 5000, "currency": "aud", "payment_method": "pm_card_visa", "confirm": True}
    )


def test_partial_then_full_refund(client, paid):
    first = client.v1.refunds.create(
        {
            "payment_intent": paid.id,
            "amount": 1500,
            "reason": "requested_by_customer",
            "metadata": {"by": "clinic admin"},
        }
    )
    assert first.id.startswith("re_") and first.object == "refund"
    assert (first.amount, first.currency, first.status) == (1500, "aud", "succeeded")
    assert first.charge == paid.latest_charge and first.payment_intent == paid.id
    assert first.reason == "requested_by_customer" and first.metadata.by == "clinic admin"
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (1500, False)
    rest = client.v1.refunds.create({"charge": paid.latest_charge})  # the remainder
    assert rest.amount == 3500
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (5000, True)
    assert client.v1.refunds.retrieve(first.id).amount == 1500
    listed = client.v1.refunds.list({"payment_intent": paid.id})
    assert [r.id for r in listed.data] == [rest.id, first.id] and listed.url == "/v1/refunds"
    expanded = client.v1.refunds.retrieve(first.id, {"expand": ["charge"]})
    assert expanded.charge.amount_refunded == 5000


def test_refund_more_than_left_is_refused(client, paid):
    client.v1.refunds.create({"payment_intent": paid.id, "amount": 4000})
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.refunds.create({"payment_intent": paid.id, "amount": 1001})
    assert e.value.param == "amount" and e.value.http_status == 400
    assert "greater than unrefunded amount" in e.value.user_message
    assert client.v1.charges.retrieve(paid.latest_charge).amount_refunded == 4000
    assert len(client.v1.refunds.list().data) == 1


def test_refund_of_fully_refunded_charge(client, paid):
    client.v1.refunds.create({"payment_intent": paid.id})
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.refunds.create({"payment_intent": paid.id})
    assert e.value.code == "charge_already_refunded"
    assert len(client.v1.refunds.list().data) == 1


@pytest.mark.parametrize("amount", [-5, 0])
def test_non_positive_refund(client, paid, amount):
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create({"payment_intent": paid.id, "amount": amount})
    assert client.v1.refunds.list().data == []


def test_refund_of_unpaid_intent(client):
    pi = client.v1.payment_intents.create({"amount": 5000, "currency": "aud"})
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.refunds.create({"payment_intent": pi.id})
    assert e.value.param == "payment_intent"


def test_refund_needs_exactly_one_target(client, paid):
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create({"payment_intent": paid.id, "charge": paid.latest_charge})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create({})
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.refunds.create({"payment_intent": paid.id, "reason": "changed_mind"})
    assert e.value.param == "reason"


def test_refund_events(client, paid):
    client.v1.refunds.create({"payment_intent": paid.id, "amount": 1000})
    types = [e.type for e in client.v1.events.list({"limit": 2}).data]
    assert types == ["charge.refunded", "refund.created"]
    refunded = client.v1.events.list({"type": "charge.refunded"}).data[0]
    assert refunded.data.object.amount_refunded == 1000
    assert refunded.data.previous_attributes.amount_refunded == 0


def test_a_refund_settled_later_as_failed_gives_its_amount_back_and_emits_refund_updated(
    sandbox, client, paid
):
    refund = client.v1.refunds.create({"payment_intent": paid.id, "amount": 2000})
    sandbox.settle_refund(refund.id, "pending")
    assert client.v1.refunds.retrieve(refund.id).status == "pending"
    settled = sandbox.settle_refund(refund.id, "failed", "expired_or_canceled_card")
    assert (settled["status"], settled["failure_reason"]) == ("failed", "expired_or_canceled_card")
    again = client.v1.refunds.retrieve(refund.id)
    assert (again.status, again.failure_reason) == ("failed", "expired_or_canceled_card")
    assert client.v1.charges.retrieve(paid.latest_charge).amount_refunded == 0
    updated = [e for e in client.v1.events.list({"type": "refund.updated"}).data]
    assert [e.data.object.status for e in updated] == ["failed", "pending"]
    assert updated[0].data.previous_attributes.status == "pending"
    with pytest.raises(ValueError):
        sandbox.settle_refund(refund.id, "succeeded")  # a failed refund stays failed
