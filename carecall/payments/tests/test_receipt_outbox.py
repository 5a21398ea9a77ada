"""Receipts go through the email outbox: a mail server that is down never fails the payment
(the payer's `complete` answers 200, the webhook is acknowledged), the receipt is sent later by
reconcile, exactly once, and "Receipt sent" is only recorded once it really was."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import stripe_sandbox
from carecall.notifications.models import OutboxEmail
from carecall.notifications.services import email_outbox_send_due
from carecall.notifications.tests.failing_backend import PATH as FAILING
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.services.reconcile import payments_reconcile
from carecall.payments.tests.helpers import (
    Call,
    deliver_webhook,
    pay_at_stripe,
    post_json,
    request_payment,
)
from carecall.payments.tests.webhook_recorder import WebhookRecorder
from testsupport.world import World

WORKING = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def pr(connected: World, call: Call, django_capture_on_commit_callbacks: Any) -> PaymentRequest:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    post_json(Client(), call.payer_url(pr, "email"), {"email": "pat@example.test"})
    pr.refresh_from_db()
    # The set-up's own emails (the app approval) were queued outside any captured commit:
    # out of the way, so the outbox holds only what the tests make.
    OutboxEmail.objects.update(sent_at=timezone.now())
    return pr


def _receipt_row(pr: PaymentRequest) -> OutboxEmail:
    (row,) = OutboxEmail.objects.filter(tag=f"payments.receipt:{pr.pk}")
    return row


def _timeline(connected: World, pr: PaymentRequest) -> str:
    page = Client()
    page.force_login(connected.clinic_admin)
    response = page.get(reverse("payments:payment_detail", args=[pr.clinic_id, pr.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_failing_mail_server_does_not_fail_complete_and_reconcile_sends_the_receipt_once(
    connected: World,
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.EMAIL_BACKEND = FAILING
    pay_at_stripe(sandbox, pr)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(Client(), call.payer_url(pr, "complete"), {})

    assert response.status_code == 200
    assert response.json()["request"]["status"] == "paid"
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert pr.receipt_sent_at is None  # not sent, so not recorded as sent
    assert mail.outbox == []
    row = _receipt_row(pr)
    assert row.sent_at is None and row.attempts == 1 and "SMTP" in row.last_error
    assert "Receipt sent" not in _timeline(connected, pr)

    # The mail server is back; reconcile (every minute in the demo) retries once the wait is over.
    settings.EMAIL_BACKEND = WORKING
    assert payments_reconcile()["emails"] == 0  # not due yet: backoff
    OutboxEmail.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert payments_reconcile()["emails"] == 1

    (receipt,) = mail.outbox
    assert receipt.to == ["pat@example.test"]
    assert pr.reference in receipt.subject
    pr.refresh_from_db()
    row.refresh_from_db()
    assert pr.receipt_sent_at == row.sent_at
    assert "Receipt sent to pat@example.test" in _timeline(connected, pr)
    # Exactly once: neither later runs nor another `complete` send it again.
    assert payments_reconcile()["emails"] == 0
    assert email_outbox_send_due(now=timezone.now() + timedelta(days=3)) == {"sent": 0, "failed": 0}
    with django_capture_on_commit_callbacks(execute=True):
        assert post_json(Client(), call.payer_url(pr, "complete"), {}).status_code == 200
    assert len(mail.outbox) == 1


def test_a_failing_mail_server_does_not_fail_the_webhook_and_the_receipt_follows_once(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.EMAIL_BACKEND = FAILING
    pay_at_stripe(sandbox, pr)
    assert sandbox.wait_for_webhooks(5)
    (delivery,) = webhooks.of("payment_intent.succeeded", pr.payment_intent_id)

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver_webhook(Client(), delivery.body, delivery.signature)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID and pr.receipt_sent_at is None
    assert mail.outbox == []

    # A redelivery of the same event changes nothing and queues no second receipt.
    with django_capture_on_commit_callbacks(execute=True):
        again = deliver_webhook(Client(), delivery.body, delivery.signature)
    assert again.json() == {"received": True, "duplicate": True}
    row = _receipt_row(pr)

    settings.EMAIL_BACKEND = WORKING
    assert email_outbox_send_due(now=row.next_attempt_at) == {"sent": 1, "failed": 0}
    assert email_outbox_send_due(now=timezone.now() + timedelta(days=3)) == {"sent": 0, "failed": 0}
    (receipt,) = mail.outbox
    assert receipt.to == ["pat@example.test"]
    pr.refresh_from_db()
    assert pr.receipt_sent_at is not None


def test_receipt_sent_is_recorded_when_the_receipt_went_out_not_when_paid(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    pay_at_stripe(sandbox, pr)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert post_json(Client(), call.payer_url(pr, "complete"), {}).status_code == 200
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert pr.receipt_sent_at is None  # committed as paid, receipt still in the outbox
    for callback in callbacks:
        callback()
    pr.refresh_from_db()
    assert pr.paid_at is not None and pr.receipt_sent_at is not None
    assert pr.receipt_sent_at >= pr.paid_at
    assert len(mail.outbox) == 1
