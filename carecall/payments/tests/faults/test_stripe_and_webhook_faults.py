"""Stripe failing or slow on confirm, and webhooks duplicated, reordered or arriving after
reconcile already did their work (issue 11, lasting proof); the money invariants after each.
The sandbox's own fault switches make the faults (its webhook duplication and reordering feed
the recorder, whose deliveries are then handed to CareCall in the order they came)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import stripe
from django.core import mail
from django.test import Client
from django.utils import timezone

import stripe_sandbox
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.services.reconcile import payments_reconcile
from carecall.payments.tests.faults.invariants import StatusHistory, assert_money_invariants
from carecall.payments.tests.helpers import (
    Call,
    decline_at_stripe,
    deliver_webhook,
    intent_at_stripe,
    pay_at_stripe,
    post_json,
    request_payment,
)
from carecall.payments.tests.webhook_recorder import WebhookRecorder
from testsupport.world import World


@pytest.fixture
def pr(connected: World, call: Call, django_capture_on_commit_callbacks: Any) -> PaymentRequest:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    post_json(Client(), call.payer_url(pr, "email"), {"email": "pat@example.test"})
    pr.refresh_from_db()
    mail.outbox.clear()
    return pr


def _complete(call: Call, pr: PaymentRequest, capture: Any) -> Any:
    with capture(execute=True):
        return post_json(Client(), call.payer_url(pr, "complete"), {})


@pytest.mark.parametrize(
    ("fault", "charged"),
    [
        ({"api_error_status": 500, "api_error_when": "before"}, False),
        ({"api_error_status": 429, "api_error_when": "before"}, False),
        ({"api_error_status": 500, "api_error_when": "after"}, True),
        ({"api_error_status": 429, "api_error_when": "after"}, True),
    ],
    ids=["500-before", "429-before", "500-after-charged", "429-after-charged"],
)
def test_stripe_failing_on_confirm_then_complete_records_exactly_what_stripe_did(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    django_capture_on_commit_callbacks: Any,
    fault: dict[str, Any],
    charged: bool,
) -> None:
    sandbox.configure_faults(
        api_error_rate=1.0,
        api_error_paths=[f"/v1/payment_intents/{pr.payment_intent_id}/confirm"],
        **fault,
    )
    with pytest.raises(stripe.StripeError):
        pay_at_stripe(sandbox, pr)  # what the payer's browser sees
    sandbox.clear_faults()

    response = _complete(call, pr, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert response.json()["request"]["status"] == ("paid" if charged else "requested")
    assert len(mail.outbox) == int(charged)
    assert_money_invariants(sandbox, history=history)


def test_stripe_slow_on_confirm_the_payer_waits_and_is_paid_once(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sandbox.configure_faults(api_latency_ms=1500, api_latency_paths=["/v1/payment_intents/"])
    pay_at_stripe(sandbox, pr)
    response = _complete(call, pr, django_capture_on_commit_callbacks)
    sandbox.clear_faults()
    assert response.json()["request"]["status"] == "paid"
    assert len(mail.outbox) == 1
    assert_money_invariants(sandbox, history=history)


def test_duplicated_and_reordered_webhooks_pay_once_with_one_receipt(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    history: StatusHistory,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sandbox.configure_faults(
        webhook_duplicate_rate=1.0, webhook_reorder=True, webhook_reorder_window_seconds=0.5
    )
    try:  # the payer's browser: a declined card, then a good one
        decline_at_stripe(sandbox, pr)
        pay_at_stripe(sandbox, pr)
        assert sandbox.wait_for_webhooks(10)
    finally:
        sandbox.clear_faults()
    deliveries = webhooks.of("payment_intent.succeeded") + webhooks.of(
        "payment_intent.payment_failed"
    )
    assert len(deliveries) == 4  # each sent twice
    with django_capture_on_commit_callbacks(execute=True):
        for delivery in deliveries:
            assert deliver_webhook(Client(), delivery.body, delivery.signature).status_code == 200

    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert len(mail.outbox) == 1
    assert_money_invariants(sandbox, history=history)


def test_a_webhook_delayed_past_reconcile_changes_nothing(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    history: StatusHistory,
    django_capture_on_commit_callbacks: Any,
) -> None:
    pay_at_stripe(sandbox, pr)  # the page never reported back, the webhook is late
    assert sandbox.wait_for_webhooks(5)
    PaymentRequest.objects.filter(pk=pr.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert payments_reconcile()["changed"] == 1
    (late,) = webhooks.of("payment_intent.succeeded")

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_webhook(Client(), late.body, late.signature).status_code == 200

    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert intent_at_stripe(sandbox, pr)["status"] == "succeeded"
    assert len(mail.outbox) == 1
    assert_money_invariants(sandbox, history=history)
