"""`carecall payments reconcile` and the payment link's lifetime: stuck requests are re-read from
Stripe, overdue ones expire, and a request made in a call stays payable after the call ends."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

import stripe_sandbox
from carecall.calls.services import visit_end
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.tests.helpers import (
    Call,
    intent_at_stripe,
    pay_at_stripe,
    post_json,
    request_payment,
)
from testsupport.world import World


@pytest.fixture
def pr(connected: World, call: Call, django_capture_on_commit_callbacks: Any) -> PaymentRequest:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    post_json(Client(), call.payer_url(pr, "email"), {"email": "pat@example.test"})
    pr.refresh_from_db()
    return pr


def _age(pr: PaymentRequest, minutes: int = 10) -> None:
    """Nothing has touched the request for a while (the command skips fresh ones)."""
    PaymentRequest.objects.filter(pk=pr.pk).update(
        updated_at=timezone.now() - timedelta(minutes=minutes)
    )


def _reconcile(*args: str) -> dict[str, int]:
    """Run the command; the counts it prints ("checked 1, changed 1, expired 0, errors 0")."""
    out = io.StringIO()
    call_command("payments", "reconcile", *args, stdout=out)
    counts = {name: int(n) for name, n in re.findall(r"([a-z][a-z ]*?) (\d+)", out.getvalue())}
    return {k: counts[k] for k in ("checked", "changed", "expired", "errors")}


def _counts(checked: int, changed: int, expired: int, errors: int = 0) -> dict[str, int]:
    return {"checked": checked, "changed": changed, "expired": expired, "errors": errors}


def test_reconcile_marks_a_stuck_request_paid_when_its_intent_succeeded_at_stripe(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    pay_at_stripe(sandbox, pr)  # the page never reported back and the webhook was lost
    _age(pr)

    with django_capture_on_commit_callbacks(execute=True):
        output = _reconcile()

    assert output == _counts(1, 1, 0)
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert (pr.card_brand, pr.card_last4) == ("visa", "4242")
    (receipt,) = mail.outbox
    assert receipt.to == ["pat@example.test"]


def test_reconcile_moves_a_request_stuck_in_processing_to_paid(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sandbox.configure_faults(processing_seconds=0.3)
    assert pay_at_stripe(sandbox, pr)["status"] == "processing"
    assert post_json(Client(), call.payer_url(pr, "complete"), {}).json()["request"]["status"] == (
        "processing"
    )
    deadline = time.monotonic() + 5
    while intent_at_stripe(sandbox, pr)["status"] != "succeeded":
        assert time.monotonic() < deadline, "the sandbox never settled the payment"
        time.sleep(0.05)
    _age(pr)

    with django_capture_on_commit_callbacks(execute=True):
        output = _reconcile()

    assert output == _counts(1, 1, 0)
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert len(mail.outbox) == 1


def test_reconcile_leaves_recently_changed_and_unpaid_requests_as_they_are(
    pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer
) -> None:
    pay_at_stripe(sandbox, pr)
    assert _reconcile() == _counts(0, 0, 0)
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED
    # With --older-than-minutes 0 it is looked at (and found paid).
    assert _reconcile("--older-than-minutes", "0") == _counts(1, 1, 0)


def test_reconcile_expires_overdue_requests_and_cancels_their_intents(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    PaymentRequest.objects.filter(pk=pr.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1),
        updated_at=timezone.now() - timedelta(days=7),
    )

    with django_capture_on_commit_callbacks(execute=True):
        output = _reconcile()

    assert output == _counts(0, 0, 1)
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.EXPIRED
    assert intent_at_stripe(sandbox, pr)["status"] == "canceled"
    assert mail.outbox == []


def test_reconcile_records_an_overdue_request_as_paid_when_stripe_took_the_money(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Paid in the last minute of its week; the page's report and the webhook were both lost."""
    pay_at_stripe(sandbox, pr)
    PaymentRequest.objects.filter(pk=pr.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1),
        updated_at=timezone.now() - timedelta(minutes=10),
    )

    with django_capture_on_commit_callbacks(execute=True):
        _reconcile()

    assert intent_at_stripe(sandbox, pr)["status"] == "succeeded"
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert len(mail.outbox) == 1


def test_reconcile_refuses_a_negative_age() -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("payments", "reconcile", "--older-than-minutes", "-1", stderr=err)
    assert exited.value.code == 2
    assert "--older-than-minutes must be 0 or more" in err.getvalue()


# ----------------------------------------------------------------------------- the 7-day rule


def test_a_request_made_in_the_call_stays_payable_after_the_call_ends_until_it_expires(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        later = request_payment(connected, call, description="Pay later")
        never = request_payment(connected, call, description="Never paid")
    assert abs(later.expires_at - later.created_at - timedelta(days=7)) < timedelta(seconds=5)
    with django_capture_on_commit_callbacks(execute=True):
        visit_end(actor=connected.clinician, visit=call.visit)

    patient = Client()
    ended = patient.get(f"/v/{call.token}/")
    assert ended.status_code == 410
    html = ended.content.decode()
    assert "This consultation has ended" in html
    assert "data-payer" in html
    assert "payments/payments.js" in html
    listed = patient.get(call.payer_url()).json()["requests"]
    assert [r["description"] for r in listed] == ["Pay later", "Never paid"]

    # Days later, within the week: the link still opens the request and it can be paid.
    opened = patient.get(call.payer_url(later))
    assert opened.status_code == 200
    assert opened.json()["client_secret"] == later.client_secret
    post_json(patient, call.payer_url(later, "email"), {"email": "pat@example.test"})
    pay_at_stripe(sandbox, later)
    with django_capture_on_commit_callbacks(execute=True):
        done = post_json(patient, call.payer_url(later, "complete"), {})
    assert done.json()["request"]["status"] == "paid"
    assert len(mail.outbox) == 1

    # After expires_at: a clear refusal.
    PaymentRequest.objects.filter(pk=never.pk).update(expires_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        too_late = patient.get(call.payer_url(never))
    assert too_late.status_code == 409
    assert too_late.json()["error"] == "This payment request has expired. Contact the clinic."


def test_no_new_request_once_the_call_has_ended(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer
) -> None:
    from django.core.exceptions import PermissionDenied

    visit_end(actor=connected.clinician, visit=call.visit)
    call.visit.refresh_from_db()
    with pytest.raises(PermissionDenied):  # nobody is in the call any more
        request_payment(connected, call)
    assert not PaymentRequest.objects.exists()


# ----------------------------------------------------------------------------- expiry, seen


def test_expiry_is_on_the_audit_trail_and_the_clinician_sees_expired_on_list_and_detail(
    connected: World,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from carecall.audit.models import AuditEntry
    from carecall.payments.audit_actions import PaymentAction
    from testsupport.world import client_for

    PaymentRequest.objects.filter(pk=pr.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1),
        updated_at=timezone.now() - timedelta(days=7),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert _reconcile() == _counts(0, 0, 1)

    (entry,) = AuditEntry.objects.filter(action=PaymentAction.PAYMENT_EXPIRED)
    assert (entry.target, entry.actor_label, entry.clinic_id) == (
        f"payment:{pr.pk}",
        "CareCall",
        pr.clinic_id,
    )
    assert entry.summary == f"Expired unpaid AUD 85.00 ({pr.reference}): the payment link ran out"
    # A second run changes nothing and writes nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert _reconcile("--older-than-minutes", "0") == _counts(0, 0, 0)
    assert AuditEntry.objects.filter(action=PaymentAction.PAYMENT_EXPIRED).count() == 1

    clinician = client_for(connected.clinician)  # the one who asked for it
    listed = clinician.get(f"/clinics/{pr.clinic_id}/payments/").content.decode()
    assert pr.reference in listed and "Expired" in listed
    detail = clinician.get(f"/clinics/{pr.clinic_id}/payments/{pr.pk}/")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "Expired" in page
    assert f"Expired unpaid AUD 85.00 ({pr.reference}): the payment link ran out" in page
    only_expired = clinician.get(f"/clinics/{pr.clinic_id}/payments/?status=expired")
    assert pr.reference in only_expired.content.decode()


def test_a_request_the_patient_opens_late_is_expired_by_the_next_reconcile_and_audited_once(
    call: Call, pr: PaymentRequest, django_capture_on_commit_callbacks: Any
) -> None:
    """Opening it (a GET) only reads; the next reconcile run records the expiry, however
    recently the request was touched, and once."""
    from carecall.audit.models import AuditEntry
    from carecall.payments.audit_actions import PaymentAction

    PaymentRequest.objects.filter(pk=pr.pk).update(expires_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert Client().get(call.payer_url(pr)).status_code == 409
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED
    with django_capture_on_commit_callbacks(execute=True):
        assert _reconcile()["expired"] == 1
        assert _reconcile()["expired"] == 0
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.EXPIRED
    assert (
        AuditEntry.objects.filter(
            action=PaymentAction.PAYMENT_EXPIRED, target=f"payment:{pr.pk}"
        ).count()
        == 1
    )


# ----------------------------------------------------------------------------- broken events


def test_a_request_whose_reconcile_raises_does_not_stop_the_others_nor_the_email_drain(
    connected: World,
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from carecall.notifications.models import OutboxEmail
    from carecall.payments.services import reconcile

    with django_capture_on_commit_callbacks(execute=True):
        other = request_payment(connected, call, description="Second item")
    pay_at_stripe(sandbox, other)
    # `pr` is overdue; expiring it hits a bug. `other` was paid and is stuck.
    PaymentRequest.objects.filter(pk=pr.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    _age(pr)
    _age(other)
    waiting = OutboxEmail.objects.create(
        to="someone@example.test",
        subject="Waiting to go",
        text="Sent by reconcile.",
        next_attempt_at=timezone.now() - timedelta(minutes=1),
    )

    def broken_expire(*, payment_request: PaymentRequest) -> bool:
        raise RuntimeError("a bug in expiry")

    monkeypatch.setattr(reconcile, "payment_request_expire", broken_expire)

    with django_capture_on_commit_callbacks(execute=True):
        output = _reconcile()

    assert output == _counts(checked=1, changed=1, expired=0, errors=1)
    other.refresh_from_db()
    assert other.status == PaymentStatus.PAID
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED
    waiting.refresh_from_db()
    assert waiting.sent_at is not None
    assert "Waiting to go" in [m.subject for m in mail.outbox]


def test_each_later_step_of_reconcile_runs_when_an_earlier_one_raises(
    pr: PaymentRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from carecall.payments.services import reconcile

    ran: list[str] = []

    def broken(name: str) -> Any:
        def step(*_args: Any, **_kwargs: Any) -> Any:
            ran.append(name)
            raise RuntimeError(f"{name} is broken")

        return step

    monkeypatch.setattr(reconcile, "_reconcile_refunds", broken("refunds"))
    monkeypatch.setattr(reconcile, "email_outbox_send_due", broken("emails"))

    counts = reconcile.payments_reconcile()

    assert ran == ["refunds", "emails"]
    assert counts["errors"] == 2
