"""What Stripe says about a request's PaymentIntent, applied forward only."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carecall.audit.services import audit_record
from carecall.core.currencies import amount_format
from carecall.core.errors import ServiceError
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.gateway import Intent, get_gateway
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.services.announce import payment_request_announce
from carecall.payments.services.receipt_email import receipt_send

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- what Stripe says

# Which of our statuses may follow which Stripe status; anything else is ignored (out of order).
_FORWARD: dict[str, set[str]] = {
    PaymentStatus.PROCESSING: {PaymentStatus.REQUESTED, PaymentStatus.FAILED},
    PaymentStatus.FAILED: {PaymentStatus.REQUESTED, PaymentStatus.PROCESSING},
    PaymentStatus.REQUESTED: set(),
    PaymentStatus.CANCELLED: {
        PaymentStatus.REQUESTED,
        PaymentStatus.PROCESSING,
        PaymentStatus.FAILED,
    },
    # Stripe has the last word on money: a payment it took is paid even if we had given up on it.
    PaymentStatus.PAID: {
        PaymentStatus.REQUESTED,
        PaymentStatus.PROCESSING,
        PaymentStatus.FAILED,
        PaymentStatus.CANCELLED,
        PaymentStatus.EXPIRED,
    },
}


def _status_from_intent(intent: Intent) -> str | None:
    if intent.status == "succeeded":
        return PaymentStatus.PAID
    if intent.status == "processing":
        return PaymentStatus.PROCESSING
    if intent.status == "canceled":
        return PaymentStatus.CANCELLED
    if intent.status == "requires_payment_method" and intent.failure_message:
        return PaymentStatus.FAILED
    return None


def payment_request_apply_intent(
    *, payment_request: PaymentRequest, intent: Intent
) -> PaymentRequest:
    """Apply Stripe's view of the PaymentIntent, forward only; the first to say "paid" wins."""
    with transaction.atomic():
        pr = (
            PaymentRequest.objects.select_for_update()
            .select_related("clinic")
            .get(pk=payment_request.pk)
        )
        if intent.id != pr.payment_intent_id:
            raise ServiceError("PaymentIntent does not belong to this request")
        if intent.amount != pr.amount or intent.currency.upper() != pr.currency:
            logger.error("amount mismatch on %s: %s %s", pr.pk, intent.amount, intent.currency)
            raise ServiceError("Stripe's amount or currency differs from the request")
        new = _status_from_intent(intent)
        if new is None or pr.status not in _FORWARD.get(new, set()):
            return pr
        pr.status = new
        if new == PaymentStatus.PAID:
            pr.paid_at = timezone.now()
            pr.card_brand = intent.card_brand[:20]
            pr.card_last4 = intent.card_last4[:4]
            pr.failure_message = ""
            if not pr.receipt_email and intent.receipt_email:
                pr.receipt_email = intent.receipt_email
            audit_record(
                action=PaymentAction.PAYMENT_PAID,
                actor=None,
                actor_label="Stripe",
                clinic=pr.clinic,
                target=f"payment:{pr.pk}",
                summary=f"Paid {amount_format(pr.amount, pr.currency)} ({pr.reference}), "
                f"{pr.card_brand} {pr.card_last4}".strip(),
            )
            if pr.receipt_email and pr.receipt_sent_at is None:
                # Into the outbox in this transaction; receipt_sent_at is set by
                # receipt_mark_sent once the mail server has really taken it.
                receipt_send(pr)
        elif new == PaymentStatus.FAILED:
            pr.failure_message = intent.failure_message[:300]
        elif new == PaymentStatus.CANCELLED:
            pr.cancelled_at = timezone.now()
            pr.cancel_reason = pr.cancel_reason or _("Cancelled at Stripe.")
        pr.save()
        payment_request_announce(pr)
    return pr


def payment_request_reconcile(*, payment_request: PaymentRequest) -> PaymentRequest:
    """Ask Stripe for the PaymentIntent and apply what it says (the patient's page reported, or
    the reconcile command found the request stuck)."""
    if not payment_request.payment_intent_id:
        return payment_request
    intent = get_gateway().intent_retrieve(
        account_id=payment_request.stripe_account_id, intent_id=payment_request.payment_intent_id
    )
    return payment_request_apply_intent(payment_request=payment_request, intent=intent)
