"""Reconcile repairs what an outage left between Stripe and CareCall (issue 11, faults 2 and 3):
intents made at Stripe whose request was never saved are cancelled after a grace period, and
refunds that reached Stripe but not CareCall are read back. Webhooks never reach CareCall in
these tests unless one is delivered (the sandbox sends them to a recorder): each is lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

import stripe_sandbox
from carecall.core.errors import ServiceError
from carecall.payments.gateway import PaymentGatewayError
from carecall.payments.models import PaymentRequest, PaymentStatus, Refund, RefundStatus
from carecall.payments.services.intents import payment_request_reconcile
from carecall.payments.services.reconcile import intents_orphaned_cancel, payments_reconcile
from carecall.payments.services.refunds import refund_create
from carecall.payments.tests.faults.invariants import StatusHistory, assert_money_invariants
from carecall.payments.tests.helpers import (
    HARBOUR,
    Call,
    intents_at_stripe,
    pay_at_stripe,
    post_json,
    request_payment,
    stripe_client,
)
from testsupport.world import World


def _only_intent(sandbox: stripe_sandbox.SandboxServer) -> dict[str, Any]:
    (intent,) = intents_at_stripe(sandbox, HARBOUR)
    return intent


@pytest.mark.parametrize(
    "fault",
    [
        {"api_error_rate": 1.0, "api_error_status": 500, "api_error_when": "after"},
        {"api_error_rate": 1.0, "api_error_status": 429, "api_error_when": "after"},
        {"api_latency_ms": 2500, "api_latency_when": "after"},
    ],
    ids=["500-after-it-ran", "429-after-it-ran", "answer-slower-than-the-timeout"],
)
def test_an_intent_whose_create_failed_after_stripe_made_it_is_cancelled_after_the_grace(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    settings: Any,
    fault: dict[str, Any],
) -> None:
    settings.STRIPE_TIMEOUT_SECONDS = 1
    sandbox.configure_faults(
        **fault,
        api_error_paths=["/v1/payment_intents"],
        api_latency_paths=["/v1/payment_intents"],
        api_fault_methods=["post"],
    )
    with pytest.raises(PaymentGatewayError):
        request_payment(connected, call)
    sandbox.clear_faults()
    assert PaymentRequest.objects.count() == 0  # nothing saved: the clinician tries again
    assert _only_intent(sandbox)["status"] == "requires_payment_method"  # but Stripe made it

    # Within the grace (its create might still be about to insert its row): left alone.
    assert payments_reconcile()["orphans_cancelled"] == 0
    assert _only_intent(sandbox)["status"] == "requires_payment_method"
    assert intents_orphaned_cancel(grace=timedelta(0)) == 1
    assert _only_intent(sandbox)["status"] == "canceled"
    assert intents_orphaned_cancel(grace=timedelta(0)) == 0
    assert_money_invariants(sandbox, history=history)


def test_reconcile_leaves_saved_requests_and_the_clinics_own_intents_open(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    own = stripe_client(sandbox).v1.payment_intents.create(
        {"amount": 1000, "currency": "aud", "metadata": {"payment_request": str(pr.pk)}},
        {"stripe_account": HARBOUR},
    )  # made by the clinic itself (no clinic or reference of ours)
    assert intents_orphaned_cancel(grace=timedelta(0)) == 0
    statuses = {i["id"]: i["status"] for i in intents_at_stripe(sandbox, HARBOUR)}
    assert statuses == {
        pr.payment_intent_id: "requires_payment_method",
        own.id: "requires_payment_method",
    }
    assert_money_invariants(sandbox, history=history)


@pytest.fixture
def paid(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer, capture: Any
) -> PaymentRequest:
    with capture(execute=True):
        pr = request_payment(connected, call)
        post_json(Client(), call.payer_url(pr, "email"), {"email": "pat@example.test"})
        pay_at_stripe(sandbox, pr)
        payment_request_reconcile(payment_request=pr)
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    return pr


@pytest.fixture
def capture(django_capture_on_commit_callbacks: Any) -> Any:
    return django_capture_on_commit_callbacks


def test_a_refund_whose_answer_was_lost_and_whose_webhook_was_lost_is_read_back_by_reconcile(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    settings: Any,
    capture: Any,
) -> None:
    settings.STRIPE_TIMEOUT_SECONDS = 1
    sandbox.configure_faults(
        api_latency_ms=2500,
        api_latency_when="after",
        api_latency_paths=["/v1/refunds"],
        api_fault_methods=["post"],
    )
    with pytest.raises(PaymentGatewayError):
        refund_create(
            actor=connected.clinic_admin,
            payment_request=paid,
            amount_text="30.00",
            reason="requested_by_customer",
            note="",
            form_token="lost-answer",
        )
    sandbox.clear_faults()
    paid.refresh_from_db()
    assert (paid.status, paid.amount_refunded, Refund.objects.count()) == (PaymentStatus.PAID, 0, 0)

    with capture(execute=True):
        counts = payments_reconcile()

    assert counts["refunds_synced"] == 1 and counts["errors"] == 0
    paid.refresh_from_db()
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 3000)
    assert payments_reconcile()["refunds_synced"] == 0  # seen now: not read again
    assert_money_invariants(sandbox, history=history)


def test_a_refund_that_failed_later_with_its_webhook_lost_is_read_back_by_reconcile(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    capture: Any,
) -> None:
    with capture(execute=True):
        refund = refund_create(
            actor=connected.clinic_admin,
            payment_request=paid,
            amount_text="30.00",
            reason="requested_by_customer",
            note="",
            form_token="fails-later",
        )
    assert refund.stripe_refund_id
    # Stripe answered "pending" (the sandbox's refund is moved there), then failed it later.
    Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.PENDING)
    PaymentRequest.objects.filter(pk=paid.pk).update(status=PaymentStatus.PAID, amount_refunded=0)
    sandbox.settle_refund(refund.stripe_refund_id, "pending")
    sandbox.settle_refund(refund.stripe_refund_id, "failed", "expired_or_canceled_card")

    with capture(execute=True):
        counts = payments_reconcile()

    assert counts["refunds_synced"] == 1
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert (refund.status, refund.failure_reason) == (
        RefundStatus.FAILED,
        "expired_or_canceled_card",
    )
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.PAID, 0)
    assert_money_invariants(sandbox, history=history)


def test_a_refund_made_in_stripes_dashboard_with_its_webhook_lost_is_read_back_once(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    capture: Any,
) -> None:
    stripe_client(sandbox).v1.refunds.create(
        {"payment_intent": paid.payment_intent_id or "", "amount": 8500},
        {"stripe_account": paid.stripe_account_id},
    )
    with capture(execute=True):
        assert payments_reconcile()["refunds_synced"] == 1
        assert payments_reconcile()["refunds_synced"] == 0
    paid.refresh_from_db()
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.REFUNDED, 8500)
    with pytest.raises(ServiceError):
        refund_create(
            actor=connected.clinic_admin,
            payment_request=paid,
            amount_text="1.00",
            reason="requested_by_customer",
            note="",
            form_token="nothing-left",
        )
    assert_money_invariants(sandbox, history=history)
