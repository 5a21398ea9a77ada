"""The receipt email: into the outbox when a payment is made, marked sent when it went out."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.audit.services import audit_record
from carecall.core.currencies import amount_format
from carecall.core.errors import ServiceError
from carecall.notifications.models import OutboxEmail
from carecall.notifications.services import email_send
from carecall.orgs.access import MANAGERS, clinic_for_user
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.receipts import receipt_details
from carecall.payments.selectors import payment_info

logger = logging.getLogger(__name__)


RECEIPT_TAG = "payments.receipt:"


def receipt_send(pr: PaymentRequest) -> None:
    """The app's own receipt (text + HTML), through the outbox: sent after commit, retried
    until it goes out; `receipt_mark_sent` records when it did."""
    clinic = pr.clinic
    email_send(
        to=pr.receipt_email,
        tag=f"{RECEIPT_TAG}{pr.pk}",
        template="payments/email/receipt",
        context={
            "pr": pr,
            "clinic": clinic,
            "info": payment_info(pr),
            "amount": amount_format(pr.amount, pr.currency),
            "receipt": receipt_details(pr),
        },
    )


def receipt_mark_sent(*, email: OutboxEmail, **_kwargs: Any) -> None:
    """`email_sent` receiver: a receipt really went out; the first one is "Receipt sent"."""
    if not email.tag.startswith(RECEIPT_TAG) or email.sent_at is None:
        return
    try:
        request_id = uuid.UUID(email.tag.removeprefix(RECEIPT_TAG))
    except ValueError:
        return
    PaymentRequest.objects.filter(pk=request_id, receipt_sent_at__isnull=True).update(
        receipt_sent_at=email.sent_at
    )


def receipt_resend(*, actor: User, payment_request: PaymentRequest) -> None:
    clinic_for_user(actor, payment_request.clinic_id, roles=MANAGERS)
    pr = payment_request
    if pr.status not in (
        PaymentStatus.PAID,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
    ):
        raise ServiceError(_("Only a paid payment has a receipt."))
    if not pr.receipt_email:
        raise ServiceError(_("The patient gave no email address for a receipt."))
    with transaction.atomic():
        receipt_send(pr)
        audit_record(
            action=PaymentAction.RECEIPT_RESENT,
            actor=actor,
            clinic=pr.clinic,
            target=f"payment:{pr.pk}",
            summary=f"Receipt for {pr.reference} resent to {pr.receipt_email}",
        )
