"""The receipt and the refund email, sent the way the app sends them, from a clinic named
"Smith & Jones <b>O'Neil</b>" to a patient with a name as odd: the subject and the text part
carry the names as typed, the HTML part escaped (see
carecall/notifications/tests/test_emails_plain_text_unescaped.py for the other emails)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

import stripe_sandbox
from carecall.notifications.tests.test_emails_plain_text_unescaped import (
    HOSTILE,
    assert_plain_and_escaped,
    only_email,
)
from carecall.payments.models import PaymentRequest
from carecall.payments.tests.test_records_support import paid_request
from testsupport.world import World, client_for

PATIENT_LAST = "O'Hara & Sons <i>"


@pytest.fixture
def paid(
    connected: World,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> PaymentRequest:
    connected.harbour.name = HOSTILE
    connected.harbour.save()
    with django_capture_on_commit_callbacks(execute=True):
        return paid_request(
            connected, sandbox, description="Consult & <script>x</script>", last_name=PATIENT_LAST
        )


def test_the_receipt_email(paid: PaymentRequest) -> None:
    message = only_email("pat@example.test")

    assert message.subject == f"Your receipt from {HOSTILE} ({paid.reference})"
    assert_plain_and_escaped(message)
    assert_plain_and_escaped(message, in_subject=False, hostile=f"Pat {PATIENT_LAST}")
    assert_plain_and_escaped(message, in_subject=False, hostile="Consult & <script>x</script>")


def test_the_refund_email(
    connected: World, paid: PaymentRequest, django_capture_on_commit_callbacks: Any
) -> None:
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(connected.clinic_admin).post(
            reverse("payments:payment_refund", args=[paid.clinic_id, paid.pk]),
            {
                "amount": "20",
                "reason": "requested_by_customer",
                "note": "",
                "form_token": secrets.token_urlsafe(24),
            },
        )

    assert response.status_code == 302
    message = only_email("pat@example.test")
    assert message.subject == f"Refund from {HOSTILE} ({paid.reference})"
    assert_plain_and_escaped(message)
    assert_plain_and_escaped(message, in_subject=False, hostile="Consult & <script>x</script>")
