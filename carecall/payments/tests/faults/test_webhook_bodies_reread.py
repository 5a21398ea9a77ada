"""Webhook bodies only say what to look at: every state change re-reads the object from Stripe
(issue 11, item 8). Signed bodies whose contents Stripe does not stand behind (a stale,
reordered or forged event) change nothing; the money invariants hold after each."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.core import mail
from django.test import Client

import stripe_sandbox
from carecall.payments.models import PaymentRequest, PaymentStatus, StripeEvent
from carecall.payments.services.intents import payment_request_reconcile
from carecall.payments.tests.faults.invariants import StatusHistory, assert_money_invariants
from carecall.payments.tests.helpers import (
    Call,
    decline_at_stripe,
    deliver_webhook,
    event_body,
    pay_at_stripe,
    post_json,
    request_payment,
    stripe_client,
    stripe_event,
)
from testsupport.world import World, client_for


@pytest.fixture
def pr(connected: World, call: Call, django_capture_on_commit_callbacks: Any) -> PaymentRequest:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    post_json(Client(), call.payer_url(pr, "email"), {"email": "pat@example.test"})
    pr.refresh_from_db()
    return pr


def _as(event: dict[str, Any], event_type: str, **changes: Any) -> bytes:
    """The same intent's event, retyped and with its object changed: signed like Stripe's."""
    forged = copy.deepcopy(event)
    forged["id"] = f"{event['id']}_{event_type}"
    forged["type"] = event_type
    forged["data"]["object"].update(changes)
    return event_body(forged)


def _deliver(body: bytes, capture: Any) -> str:
    with capture(execute=True):
        assert deliver_webhook(Client(), body).status_code == 200
    return StripeEvent.objects.latest("received_at").outcome


@pytest.mark.parametrize(
    ("event_type", "changes"),
    [
        ("payment_intent.canceled", {"status": "canceled"}),
        (
            "payment_intent.payment_failed",
            {
                "status": "requires_payment_method",
                "last_payment_error": {"message": "Your card was declined."},
            },
        ),
        ("payment_intent.processing", {"status": "processing"}),
    ],
    ids=["canceled", "payment_failed", "processing"],
)
def test_a_signed_body_stripe_does_not_stand_behind_changes_nothing(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    django_capture_on_commit_callbacks: Any,
    event_type: str,
    changes: dict[str, Any],
) -> None:
    created = stripe_event(sandbox, pr, "payment_intent.created")

    outcome = _deliver(_as(created, event_type, **changes), django_capture_on_commit_callbacks)

    assert outcome == "applied: requested"
    pr.refresh_from_db()
    assert (pr.status, pr.failure_message, pr.cancelled_at) == (PaymentStatus.REQUESTED, "", None)
    pay_at_stripe(sandbox, pr)  # still payable, and paid
    with django_capture_on_commit_callbacks(execute=True):
        payment_request_reconcile(payment_request=pr)
    assert_money_invariants(sandbox, history=history)


def test_a_late_payment_failed_after_the_card_was_charged_marks_it_paid_from_stripe(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Reordered delivery: the decline's event is processed after the card was charged (and the
    succeeded event was lost). Stripe says succeeded, so paid, with one receipt."""
    decline_at_stripe(sandbox, pr)
    pay_at_stripe(sandbox, pr)
    failed = stripe_event(sandbox, pr, "payment_intent.payment_failed")

    outcome = _deliver(event_body(failed), django_capture_on_commit_callbacks)

    assert outcome == "applied: paid"
    pr.refresh_from_db()
    assert (pr.status, pr.card_last4) == (PaymentStatus.PAID, "4242")
    assert len(mail.outbox) == 1
    assert_money_invariants(sandbox, history=history)


def test_a_charge_refunded_body_claiming_more_than_stripe_refunded_syncs_stripes_total(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    webhooks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    pay_at_stripe(sandbox, pr)
    with django_capture_on_commit_callbacks(execute=True):
        payment_request_reconcile(payment_request=pr)
    stripe_client(sandbox).v1.refunds.create(
        {"payment_intent": pr.payment_intent_id or "", "amount": 2000},
        {"stripe_account": pr.stripe_account_id},
    )
    assert sandbox.wait_for_webhooks(5)
    (charge,) = webhooks.of("charge.refunded")
    claims_all = copy.deepcopy(charge.event)
    claims_all["id"] += "_inflated"
    claims_all["data"]["object"].update(amount_refunded=8500, refunded=True)

    _deliver(event_body(claims_all), django_capture_on_commit_callbacks)

    pr.refresh_from_db()
    assert (pr.status, pr.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 2000)
    assert_money_invariants(sandbox, history=history)


def test_a_refund_updated_body_saying_failed_leaves_a_refund_stripe_made(
    connected: World,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    webhooks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    pay_at_stripe(sandbox, pr)
    with django_capture_on_commit_callbacks(execute=True):
        payment_request_reconcile(payment_request=pr)
        client_for(connected.clinic_admin).post(
            f"/clinics/{pr.clinic_id}/payments/{pr.pk}/refund/",
            {"amount": "20.00", "reason": "duplicate", "form_token": "t-1"},
        )
    refund = pr.refunds.get()
    assert sandbox.wait_for_webhooks(5)
    (created,) = webhooks.of("refund.created", refund.stripe_refund_id)
    forged = copy.deepcopy(created.event)
    forged.update(id=forged["id"] + "_failed", type="refund.updated")
    forged["data"]["object"].update(status="failed", failure_reason="lost_or_stolen_card")

    _deliver(event_body(forged), django_capture_on_commit_callbacks)

    refund.refresh_from_db()
    pr.refresh_from_db()
    assert refund.status == "succeeded"
    assert (pr.status, pr.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 2000)
    assert_money_invariants(sandbox, history=history)
