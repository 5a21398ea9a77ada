"""A refund's outcome from Stripe's side: `charge.refunded` (also for refunds made in Stripe's
dashboard), `refund.updated` for a refund Stripe first answered as pending, reconcile when no
webhook came, and redeliveries that change nothing."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client

import stripe_sandbox
from carecall.payments.models import (
    PaymentRequest,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripeEvent,
)
from carecall.payments.services.reconcile import payments_reconcile
from carecall.payments.services.refunds import refundable_amount
from carecall.payments.tests.helpers import deliver_webhook, event_body, stripe_client
from carecall.payments.tests.test_records_support import paid_request
from carecall.payments.tests.webhook_recorder import Delivery, WebhookRecorder
from testsupport.world import World, client_for


@pytest.fixture
def paid(connected: World, sandbox: stripe_sandbox.SandboxServer) -> PaymentRequest:
    pr = paid_request(connected, sandbox)
    mail.outbox.clear()
    return pr


def _refund_at_stripe(
    sandbox: stripe_sandbox.SandboxServer, pr: PaymentRequest, amount: int
) -> dict[str, Any]:
    """A refund made outside CareCall's form (Stripe's dashboard, or our own call's twin)."""
    refund = stripe_client(sandbox).v1.refunds.create(
        {"payment_intent": pr.payment_intent_id or "", "amount": amount},
        {"stripe_account": pr.stripe_account_id},
    )
    return dict(refund.to_dict())


def _delivered(
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    event_type: str,
    object_id: str,
) -> list[Delivery]:
    assert sandbox.wait_for_webhooks(5)
    found = webhooks.of(event_type, object_id)
    assert found, f"the sandbox sent no {event_type} for {object_id}"
    return found


def _deliver(body: bytes, signature: str | None, capture: Any) -> Any:
    with capture(execute=True):
        response = deliver_webhook(Client(), body, signature)
    assert response.status_code == 200, response.content
    return response


def _refund_updated(created: Delivery, *, status: str, failure_reason: str = "") -> bytes:
    """Stripe's refund.updated for a refund: its refund.created with the new status."""
    event = copy.deepcopy(created.event)
    event["id"] = event["id"] + "_updated_" + status
    event["type"] = "refund.updated"
    event["data"]["object"]["status"] = status
    if failure_reason:
        event["data"]["object"]["failure_reason"] = failure_reason
    event["data"]["previous_attributes"] = {"status": "pending"}
    return event_body(event)


def _pending_refund(world: World, pr: PaymentRequest, stripe_refund: dict[str, Any]) -> Refund:
    """Our row for a refund Stripe first answered as `pending` (cards sometimes are)."""
    return Refund.objects.create(
        payment_request=pr,
        amount=int(stripe_refund["amount"]),
        reason="requested_by_customer",
        requested_by=world.clinic_admin,
        form_token=f"form-{stripe_refund['id']}",
        stripe_refund_id=stripe_refund["id"],
        status=RefundStatus.PENDING,
    )


def test_a_refund_made_in_stripes_dashboard_arrives_by_charge_refunded(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _refund_at_stripe(sandbox, paid, 2500)
    charge_id = str(
        stripe_client(sandbox)
        .v1.payment_intents.retrieve(
            paid.payment_intent_id or "", {}, {"stripe_account": paid.stripe_account_id}
        )
        .latest_charge
    )
    (partial,) = _delivered(sandbox, webhooks, "charge.refunded", charge_id)

    _deliver(partial.body, partial.signature, django_capture_on_commit_callbacks)

    paid.refresh_from_db()
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 2500)
    assert StripeEvent.objects.get(event_id=partial.event["id"]).outcome == (
        "synced refunded amount"
    )
    assert refundable_amount(paid) == 6000

    webhooks.clear()
    _refund_at_stripe(sandbox, paid, 6000)
    (full,) = _delivered(sandbox, webhooks, "charge.refunded", charge_id)
    _deliver(full.body, full.signature, django_capture_on_commit_callbacks)

    paid.refresh_from_db()
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.REFUNDED, 8500)
    page = (
        client_for(connected.clinic_admin)
        .get(f"/clinics/{paid.clinic_id}/payments/{paid.pk}/")
        .content.decode()
    )
    assert "Refunded" in page and "AUD 85.00" in page


def test_a_redelivered_or_late_charge_refunded_changes_nothing(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _refund_at_stripe(sandbox, paid, 2000)
    _refund_at_stripe(sandbox, paid, 3000)
    assert sandbox.wait_for_webhooks(5)
    first, second = sorted(
        webhooks.of("charge.refunded"), key=lambda d: d.event["data"]["object"]["amount_refunded"]
    )
    _deliver(second.body, second.signature, django_capture_on_commit_callbacks)

    again = _deliver(second.body, second.signature, django_capture_on_commit_callbacks)
    late = _deliver(first.body, first.signature, django_capture_on_commit_callbacks)

    assert again.json() == {"received": True, "duplicate": True}
    assert late.json() == {"received": True, "duplicate": False}
    paid.refresh_from_db()
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 5000)


def test_the_webhooks_of_a_refund_made_in_carecall_do_not_apply_it_twice(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client_for(connected.clinic_admin).post(
            f"/clinics/{paid.clinic_id}/payments/{paid.pk}/refund/",
            {"amount": "20.00", "reason": "duplicate", "form_token": "t-1"},
        )
    (refund,) = Refund.objects.all()
    assert refund.status == RefundStatus.SUCCEEDED
    assert len(mail.outbox) == 1
    assert sandbox.wait_for_webhooks(5)
    (created,) = webhooks.of("refund.created", refund.stripe_refund_id)
    (charge,) = webhooks.of("charge.refunded")

    _deliver(created.body, created.signature, django_capture_on_commit_callbacks)
    _deliver(charge.body, charge.signature, django_capture_on_commit_callbacks)
    updated = _refund_updated(created, status="succeeded")
    _deliver(updated, None, django_capture_on_commit_callbacks)

    paid.refresh_from_db()
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 2000)
    assert len(mail.outbox) == 1  # still one refund email
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED


def test_a_pending_refund_is_settled_by_refund_updated_and_the_patient_is_emailed_then(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    stripe_refund = _refund_at_stripe(sandbox, paid, 3000)
    refund = _pending_refund(connected, paid, stripe_refund)
    assert refundable_amount(paid) == 5500  # the pending one is not offered again
    (created,) = _delivered(sandbox, webhooks, "refund.created", stripe_refund["id"])

    _deliver(_refund_updated(created, status="succeeded"), None, django_capture_on_commit_callbacks)

    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 3000)
    (email,) = mail.outbox
    assert "refunded AUD 30.00 of your payment of AUD 85.00" in email.body
    assert refundable_amount(paid) == 5500


def test_a_pending_refund_that_fails_leaves_the_payment_paid_and_the_amount_refundable(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    stripe_refund = _refund_at_stripe(sandbox, paid, 3000)
    refund = _pending_refund(connected, paid, stripe_refund)
    (created,) = _delivered(sandbox, webhooks, "refund.created", stripe_refund["id"])

    # Stripe fails it later (the money goes back to the charge) and says so in refund.updated.
    sandbox.settle_refund(stripe_refund["id"], "failed", "expired_or_canceled_card")
    body = _refund_updated(created, status="failed", failure_reason="expired_or_canceled_card")
    _deliver(body, None, django_capture_on_commit_callbacks)

    refund.refresh_from_db()
    paid.refresh_from_db()
    assert (refund.status, refund.failure_reason) == (
        RefundStatus.FAILED,
        "expired_or_canceled_card",
    )
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.PAID, 0)
    assert refundable_amount(paid) == 8500
    assert mail.outbox == []


def test_a_pending_refund_with_no_webhook_is_settled_by_reconcile(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    stripe_refund = _refund_at_stripe(sandbox, paid, 3000)
    refund = _pending_refund(connected, paid, stripe_refund)

    with django_capture_on_commit_callbacks(execute=True):
        counts = payments_reconcile(older_than=timedelta(0))

    assert counts["refunds"] == 1
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 3000)
    assert len(mail.outbox) == 1


def test_charge_refunded_for_a_pending_refund_does_not_count_it_twice_in_what_is_left(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Stripe counts a pending refund in the charge's amount_refunded and says so at once in
    charge.refunded; refund.updated comes later. In between, AUD 55.00 is still refundable."""
    stripe_refund = _refund_at_stripe(sandbox, paid, 3000)
    _pending_refund(connected, paid, stripe_refund)
    assert sandbox.wait_for_webhooks(5)
    (charge,) = webhooks.of("charge.refunded")
    assert charge.event["data"]["object"]["amount_refunded"] == 3000

    _deliver(charge.body, charge.signature, django_capture_on_commit_callbacks)

    paid.refresh_from_db()
    assert paid.amount_refunded == 3000
    assert refundable_amount(paid) == 5500


def test_a_refund_event_naming_another_account_is_ignored(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _refund_at_stripe(sandbox, paid, 2000)
    assert sandbox.wait_for_webhooks(5)
    (charge,) = webhooks.of("charge.refunded")
    event = charge.event
    event["id"] += "_forged"
    event["account"] = stripe_sandbox.NORTHSIDE_PHYSIO_ACCOUNT_ID
    body = json.dumps(event).encode()

    _deliver(body, None, django_capture_on_commit_callbacks)

    assert StripeEvent.objects.get(event_id=event["id"]).outcome == "ignored: foreign account"
    paid.refresh_from_db()
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.PAID, 0)


def test_refunding_the_rest_after_a_dashboard_refund_shows_refunded_at_once(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """AUD 25.00 was refunded in Stripe's dashboard (and its charge.refunded applied); the clinic
    admin then refunds the AUD 60.00 the page says is left. Stripe has now refunded all 85.00;
    the page must say so without waiting for the next webhook (which may be late or lost)."""
    _refund_at_stripe(sandbox, paid, 2500)
    assert sandbox.wait_for_webhooks(5)
    (outside,) = webhooks.of("charge.refunded")
    _deliver(outside.body, outside.signature, django_capture_on_commit_callbacks)
    paid.refresh_from_db()
    assert refundable_amount(paid) == 6000

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(connected.clinic_admin).post(
            f"/clinics/{paid.clinic_id}/payments/{paid.pk}/refund/",
            {"amount": "60.00", "reason": "requested_by_customer", "form_token": "the-rest"},
        )

    assert response.status_code == 302
    paid.refresh_from_db()
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.REFUNDED, 8500)
    assert refundable_amount(paid) == 0


# ----------------------------------------------------------------------------- on the audit trail


def _refund_entries(pr: PaymentRequest) -> list[tuple[str, str, str]]:
    from carecall.audit.models import AuditEntry

    return [
        (e.action, e.actor_label, e.summary)
        for e in AuditEntry.objects.filter(
            target=f"payment:{pr.pk}", action__startswith="payment.refund"
        ).order_by("at", "id")
    ]


def test_refunds_made_in_stripes_dashboard_are_on_the_audit_trail_and_timeline_once(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _refund_at_stripe(sandbox, paid, 2500)
    assert sandbox.wait_for_webhooks(5)
    (first,) = webhooks.of("charge.refunded")
    _deliver(first.body, first.signature, django_capture_on_commit_callbacks)
    _deliver(first.body, first.signature, django_capture_on_commit_callbacks)  # redelivered

    assert _refund_entries(paid) == [
        (
            "payment.refunded",
            "Stripe",
            f"Refund of AUD 25.00 on {paid.reference} made in Stripe's dashboard",
        )
    ]

    # Then one through CareCall's form: its charge.refunded adds no "dashboard" entry.
    webhooks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client_for(connected.clinic_admin).post(
            f"/clinics/{paid.clinic_id}/payments/{paid.pk}/refund/",
            {"amount": "10.00", "reason": "duplicate", "form_token": "audit-form"},
        )
    assert sandbox.wait_for_webhooks(5)
    for delivery in webhooks.of("charge.refunded"):
        _deliver(delivery.body, delivery.signature, django_capture_on_commit_callbacks)
    # And a second one in the dashboard: only its own AUD 50.00 is new.
    webhooks.clear()
    _refund_at_stripe(sandbox, paid, 5000)
    assert sandbox.wait_for_webhooks(5)
    (last,) = webhooks.of("charge.refunded")
    assert last.event["data"]["object"]["amount_refunded"] == 8500
    _deliver(last.body, last.signature, django_capture_on_commit_callbacks)

    entries = _refund_entries(paid)
    assert [(who, summary.split(" (")[0]) for _action, who, summary in entries] == [
        ("Stripe", f"Refund of AUD 25.00 on {paid.reference} made in Stripe's dashboard"),
        (
            f"{connected.clinic_admin.get_full_name()} <{connected.clinic_admin.email}>",
            f"Refund of AUD 10.00 on {paid.reference}",
        ),
        ("Stripe", f"Refund of AUD 50.00 on {paid.reference} made in Stripe's dashboard"),
    ]
    paid.refresh_from_db()
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.REFUNDED, 8500)
    page = (
        client_for(connected.clinic_admin)
        .get(f"/clinics/{paid.clinic_id}/payments/{paid.pk}/")
        .content.decode()
    )
    assert "made in Stripe&#x27;s dashboard" in page or "made in Stripe's dashboard" in page


def test_a_refund_that_fails_later_is_on_the_audit_trail(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    stripe_refund = _refund_at_stripe(sandbox, paid, 3000)
    refund = _pending_refund(connected, paid, stripe_refund)
    (created,) = _delivered(sandbox, webhooks, "refund.created", stripe_refund["id"])

    sandbox.settle_refund(stripe_refund["id"], "failed", "expired_or_canceled_card")
    body = _refund_updated(created, status="failed", failure_reason="expired_or_canceled_card")
    _deliver(body, None, django_capture_on_commit_callbacks)
    _deliver(body, None, django_capture_on_commit_callbacks)  # redelivered: no second entry

    assert _refund_entries(paid) == [
        (
            "payment.refund_failed",
            "Stripe",
            f"Refund failed: AUD 30.00 on {paid.reference} was not refunded "
            "(failed: expired_or_canceled_card)",
        )
    ]
    page = (
        client_for(connected.clinic_admin)
        .get(f"/clinics/{paid.clinic_id}/payments/{paid.pk}/")
        .content.decode()
    )
    assert "Refund failed: AUD 30.00" in page
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED


def test_a_refund_that_requires_action_stays_pending_until_stripe_settles_it(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from carecall.payments.gateway import RefundResult
    from carecall.payments.services.refunds import refund_apply_result

    stripe_refund = _refund_at_stripe(sandbox, paid, 3000)
    refund = _pending_refund(connected, paid, stripe_refund)
    (created,) = _delivered(sandbox, webhooks, "refund.created", stripe_refund["id"])

    applied = refund_apply_result(
        refund=refund,
        result=RefundResult(id=stripe_refund["id"], amount=3000, status="requires_action"),
    )
    assert applied.status == RefundStatus.PENDING
    sandbox.settle_refund(stripe_refund["id"], "requires_action")
    _deliver(
        _refund_updated(created, status="requires_action"),
        None,
        django_capture_on_commit_callbacks,
    )
    event = StripeEvent.objects.get(event_id=created.event["id"] + "_updated_requires_action")
    assert event.outcome == f"refund {refund.pk} applied"
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    # Stripe counts a refund it has not finished in the charge's refunded total; what is left
    # to refund is the same either way.
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 3000)
    assert refundable_amount(paid) == 5500
    assert _refund_entries(paid) == []

    sandbox.settle_refund(stripe_refund["id"], "succeeded")
    _deliver(_refund_updated(created, status="succeeded"), None, django_capture_on_commit_callbacks)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
