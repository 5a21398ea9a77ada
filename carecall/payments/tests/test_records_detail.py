"""A payment's page: everything the list shows plus its timeline (requested, paid, receipt sent,
refunds, cancellation) in the order it happened, and Resend receipt."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

import stripe_sandbox
from carecall.audit.models import AuditEntry
from carecall.audit.services import audit_record
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.services.cancellation import payment_request_cancel
from carecall.payments.tests.helpers import request_payment
from carecall.payments.tests.test_records_support import (
    add_request,
    at,
    backdate_audit,
    paid_request,
)
from testsupport.world import World, client_for


def _detail(pr: PaymentRequest) -> str:
    return reverse("payments:payment_detail", args=[pr.clinic_id, pr.pk])


def _timeline(page: str) -> list[str]:
    (ol,) = re.findall(r'<ol class="timeline">(.*?)</ol>', page, flags=re.S)
    return [
        html.unescape(re.sub(r"<[^>]+>", "", li)).strip()
        for li in re.findall(r"<li>(.*?)</li>", ol, re.S)
    ]


def test_the_detail_shows_the_payment_and_its_whole_timeline(
    connected: World,
    sandbox: stripe_sandbox.SandboxServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.STRIPE_DASHBOARD_URL = "https://dashboard.stripe.test"
    with django_capture_on_commit_callbacks(execute=True):
        pr = paid_request(connected, sandbox, description="Long consultation", amount="120.50")
    admin = client_for(connected.clinic_admin)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(
            reverse("payments:payment_refund", args=[pr.clinic_id, pr.pk]),
            {
                "amount": "20.50",
                "reason": "requested_by_customer",
                "note": "Cut short",
                "form_token": "detail-1",
            },
        )
        admin.post(reverse("payments:payment_resend_receipt", args=[pr.clinic_id, pr.pk]))

    response = admin.get(_detail(pr))

    assert response.status_code == 200
    raw = response.content.decode()
    page = html.unescape(raw)
    for expected in (
        f"Payment {pr.reference}",
        "AUD 120.50",
        "Partially refunded",
        "Long consultation",
        "Pat Jones",
        "Chris Lee",
        "(Australia/Sydney)",
        "Visa •••• 4242",
        "pat@example.test",
        "AUD 20.50",
        f"https://dashboard.stripe.test/{stripe_sandbox.HARBOUR_GP_ACCOUNT_ID}/payments/"
        f"{pr.payment_intent_id}",
        "Left to refund: AUD 100.00",
        "Resend receipt",
    ):
        assert expected in page, expected
    timeline = _timeline(raw)
    assert len(timeline) == 5, timeline
    # (The order is checked on its own, with fixed times, below.)
    assert any(
        "Chris Lee <chris@example.test>: Requested AUD 120.50 from Pat Jones" in t for t in timeline
    )
    assert any("Stripe: Paid AUD 120.50" in t and "visa 4242" in t for t in timeline)
    assert "CareCall: Receipt sent to pat@example.test" in " ".join(timeline)
    assert any(
        "Hannah Brooks <hannah@example.test>: Refund of AUD 20.50" in t and "Cut short" in t
        for t in timeline
    )
    assert any("resent to pat@example.test" in t for t in timeline)


def test_a_cancelled_request_shows_why_and_when_in_its_timeline(
    connected: World, call: Any, sandbox: stripe_sandbox.SandboxServer
) -> None:
    pr = request_payment(connected, call)
    payment_request_cancel(actor=connected.clinician, payment_request=pr)

    page = client_for(connected.clinic_admin).get(_detail(pr)).content.decode()

    # The status says who cancelled, once, as a person would write it.
    assert "<dt>Status</dt><dd>Cancelled by Chris Lee</dd>" in page
    assert "Cancelled (" not in page and "Cancelled: Cancelled" not in page
    timeline = _timeline(page)
    assert len(timeline) == 2
    assert "Cancelled AUD 85.00" in timeline[1]
    assert "Resend receipt" not in page and 'name="amount"' not in page


def test_the_timeline_is_in_the_order_things_happened_across_ten_oclock(world: World) -> None:
    """Requested at 9:58, paid at 10:03, receipt at 10:03, refunded at 2:15 PM the same day."""
    pr = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-11 09:58"),
        paid_at=at("2026-03-11 10:03"),
        receipt_email="pat@example.test",
    )
    PaymentRequest.objects.filter(pk=pr.pk).update(receipt_sent_at=at("2026-03-11 10:03:30"))
    for action, actor, summary, when in (
        (PaymentAction.PAYMENT_REQUESTED, world.clinician, "Requested", "2026-03-11 09:58"),
        (PaymentAction.PAYMENT_PAID, None, "Paid", "2026-03-11 10:03"),
        (PaymentAction.PAYMENT_REFUNDED, world.clinic_admin, "Refund", "2026-03-11 14:15"),
    ):
        entry = audit_record(
            action=action,
            actor=actor,
            clinic=world.harbour,
            target=f"payment:{pr.pk}",
            summary=summary,
            actor_label="" if actor else "Stripe",
        )
        backdate_audit(entry, at(when))

    page = client_for(world.clinic_admin).get(_detail(pr)).content.decode()

    assert [line.split(": ", 1)[1] for line in _timeline(page)] == [
        "Requested",
        "Paid",
        "Receipt sent to pat@example.test",
        "Refund",
    ]


def test_resend_receipt_emails_the_patient_again_and_is_audited(
    connected: World,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    pr = paid_request(connected, sandbox)
    mail.outbox.clear()
    admin = client_for(connected.clinic_admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            reverse("payments:payment_resend_receipt", args=[pr.clinic_id, pr.pk])
        )

    assert response.status_code == 302
    (receipt,) = mail.outbox
    assert receipt.to == ["pat@example.test"]
    assert pr.reference in receipt.subject
    assert "AUD 85.00" in receipt.body
    entry = AuditEntry.objects.get(action=PaymentAction.RECEIPT_RESENT)
    assert (entry.actor, entry.clinic, entry.target) == (
        connected.clinic_admin,
        connected.harbour,
        f"payment:{pr.pk}",
    )
    assert (
        "Receipt sent again to pat@example.test."
        in admin.get(response["Location"]).content.decode()
    )


@pytest.mark.parametrize(
    ("status", "email", "message"),
    [
        (PaymentStatus.REQUESTED, "pat@example.test", "Only a paid payment has a receipt."),
        (PaymentStatus.CANCELLED, "pat@example.test", "Only a paid payment has a receipt."),
        (PaymentStatus.PAID, "", "The patient gave no email address for a receipt."),
    ],
    ids=["unpaid", "cancelled", "no-address"],
)
def test_resend_receipt_without_a_receipt_to_send_says_why_and_sends_nothing(
    world: World, status: str, email: str, message: str, django_capture_on_commit_callbacks: Any
) -> None:
    pr = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-11 09:58"),
        status=status,
        receipt_email=email,
    )
    admin = client_for(world.clinic_admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            reverse("payments:payment_resend_receipt", args=[pr.clinic_id, pr.pk]), follow=True
        )

    assert message in html.unescape(response.content.decode())
    assert mail.outbox == []
    assert not AuditEntry.objects.filter(action=PaymentAction.RECEIPT_RESENT).exists()


def test_a_clinician_cannot_resend_a_receipt(world: World) -> None:
    pr = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-11 09:58"),
        receipt_email="pat@example.test",
    )
    response = client_for(world.clinician).post(
        reverse("payments:payment_resend_receipt", args=[pr.clinic_id, pr.pk])
    )
    assert response.status_code == 403
    assert mail.outbox == []
    assert "Resend receipt" not in client_for(world.clinician).get(_detail(pr)).content.decode()
