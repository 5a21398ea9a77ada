"""Each payments action leaves one audit entry saying who did what, to what, where; and an action
that fails leaves none (the entry is written in the action's own transaction)."""

from __future__ import annotations

from typing import Any

import pytest

import stripe_sandbox
from carecall.audit.models import AuditEntry
from carecall.clinic_apps.audit_actions import AppAction
from carecall.clinic_apps.models import AppKey
from carecall.clinic_apps.services import app_request_create, app_request_decide
from carecall.core.errors import ServiceError
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.gateway import PaymentGatewayError
from carecall.payments.services.cancellation import payment_request_cancel
from carecall.payments.services.connection import connection_remove
from carecall.payments.services.receipt_email import receipt_resend
from carecall.payments.services.refunds import refund_create
from carecall.payments.tests.helpers import (
    NORTHSIDE,
    connect_clinic,
    enable_payment_gateway,
    request_payment,
    start_call,
)
from carecall.payments.tests.test_records_support import paid_request
from testsupport.world import World


def _entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def _one(action: str) -> AuditEntry:
    (entry,) = _entries(action)
    return entry


def test_app_requests_and_both_decisions_are_recorded(world: World) -> None:
    enable_payment_gateway(world, world.harbour)
    declined = app_request_create(
        actor=world.org_admin,
        organisation=world.organisation,
        app=AppKey.PAYMENT_GATEWAY,
        clinics=[world.northside],
        manager_name="Olivia Nguyen",
        manager_email="olivia@example.test",
        manager_phone="+61 2 9000 0000",
        accept_terms=True,
    )
    app_request_decide(
        actor=world.operator, request=declined, approve=False, comment="Missing ABN."
    )

    requested = _entries(AppAction.APP_REQUESTED)
    assert [(e.actor, e.organisation) for e in requested] == [
        (world.org_admin, world.organisation),
        (world.org_admin, world.organisation),
    ]
    assert "Payment Gateway for Harbour GP" in requested[0].summary
    assert "Payment Gateway for Northside Physio" in requested[1].summary
    approved = _one(AppAction.APP_APPROVED)
    assert (approved.actor, approved.actor_label) == (
        world.operator,
        "Sam Operator <sam@carecall.test>",
    )
    rejected = _one(AppAction.APP_DECLINED)
    assert rejected.actor == world.operator
    assert rejected.summary.endswith(": Missing ABN.")
    assert rejected.target == f"app_request:{declined.pk}"


def test_connecting_changing_and_removing_the_stripe_account_are_recorded(
    world: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    enable_payment_gateway(world, world.harbour)
    connect_clinic(world, sandbox, world.harbour)
    connect_clinic(world, sandbox, world.harbour, NORTHSIDE)
    connection_remove(actor=world.clinic_admin, clinic=world.harbour)

    connected = _one(PaymentAction.STRIPE_CONNECTED)
    assert (connected.actor, connected.clinic, connected.organisation) == (
        world.org_admin,
        world.harbour,
        world.organisation,
    )
    assert connected.target == f"stripe:{stripe_sandbox.HARBOUR_GP_ACCOUNT_ID}"
    changed = _one(PaymentAction.STRIPE_CHANGED)
    assert stripe_sandbox.HARBOUR_GP_ACCOUNT_ID in changed.summary
    assert NORTHSIDE in changed.summary
    removed = _one(PaymentAction.STRIPE_REMOVED)
    assert (removed.actor, removed.target) == (world.clinic_admin, f"stripe:{NORTHSIDE}")


def test_a_payments_life_is_recorded_requested_paid_refunded_receipt_resent(
    connected: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    pr = paid_request(connected, sandbox, amount="120.50", description="Long consultation")
    refund_create(
        actor=connected.clinic_admin,
        payment_request=pr,
        amount_text="20.50",
        reason="requested_by_customer",
        note="Cut short",
        form_token="audit-1",
    )
    receipt_resend(actor=connected.org_admin, payment_request=pr)

    target = f"payment:{pr.pk}"
    requested = _one(PaymentAction.PAYMENT_REQUESTED)
    assert (requested.actor, requested.clinic, requested.target) == (
        connected.clinician,
        connected.harbour,
        target,
    )
    assert requested.summary == (
        f"Requested AUD 120.50 from Pat Jones: Long consultation ({pr.reference})"
    )
    paid = _one(PaymentAction.PAYMENT_PAID)
    assert (paid.actor, paid.actor_label, paid.target) == (None, "Stripe", target)
    refunded = _one(PaymentAction.PAYMENT_REFUNDED)
    assert (refunded.actor, refunded.target) == (connected.clinic_admin, target)
    assert refunded.summary == (
        f"Refund of AUD 20.50 on {pr.reference} (Requested by the patient): Cut short"
    )
    resent = _one(PaymentAction.RECEIPT_RESENT)
    assert (resent.actor, resent.target) == (connected.org_admin, target)
    assert all(e.organisation == connected.organisation for e in AuditEntry.objects.all())


def test_cancelling_is_recorded_with_who_and_why(
    connected: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    call = start_call(connected)
    pr = request_payment(connected, call)

    payment_request_cancel(actor=connected.clinician, payment_request=pr)

    cancelled = _one(PaymentAction.PAYMENT_CANCELLED)
    assert (cancelled.actor, cancelled.target) == (connected.clinician, f"payment:{pr.pk}")
    assert cancelled.summary == f"Cancelled AUD 85.00 ({pr.reference}): Cancelled by Chris Lee."


def test_a_refused_or_failed_refund_leaves_no_audit_entry(
    connected: World, sandbox: stripe_sandbox.SandboxServer, django_capture_on_commit_callbacks: Any
) -> None:
    pr = paid_request(connected, sandbox)

    with pytest.raises(ServiceError):
        refund_create(
            actor=connected.clinic_admin,
            payment_request=pr,
            amount_text="85.01",
            reason="duplicate",
            note="",
            form_token="too-much",
        )
    sandbox.configure_faults(
        api_error_rate=1.0,
        api_error_status=500,
        api_error_when="before",
        api_error_paths=["/v1/refunds"],
    )
    with pytest.raises(PaymentGatewayError):
        refund_create(
            actor=connected.clinic_admin,
            payment_request=pr,
            amount_text="10",
            reason="duplicate",
            note="",
            form_token="stripe-down",
        )

    assert _entries(PaymentAction.PAYMENT_REFUNDED) == []


def test_a_payment_request_stripe_refused_leaves_no_audit_entry(
    connected: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    call = start_call(connected)
    sandbox.configure_faults(api_error_rate=1.0, api_error_status=500, api_error_when="before")

    with pytest.raises(PaymentGatewayError):
        request_payment(connected, call)

    assert _entries(PaymentAction.PAYMENT_REQUESTED) == []
