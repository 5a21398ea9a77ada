"""Refunds of paid requests (clinic admins and org admins), and resending receipts.

The refund goes through Stripe with idempotency key = the refund's id, inside the transaction
that creates our row, so a Stripe failure leaves nothing behind. The outcome may come at once,
later by webhook (`refund.updated`, `charge.refunded`) or by reconcile.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.audit.models import AuditAction, AuditEntry
from carecall.audit.services import audit_record
from carecall.core.currencies import amount_format, amount_parse
from carecall.core.errors import ServiceError
from carecall.notifications.services import email_send
from carecall.orgs.access import MANAGERS, clinic_for_user
from carecall.payments.gateway import PaymentGatewayError, RefundResult, get_gateway
from carecall.payments.models import (
    PaymentRequest,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
)
from carecall.payments.services import receipt_send

logger = logging.getLogger(__name__)

_FINAL_REFUND_STATUSES = {
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}


def refundable_amount(pr: PaymentRequest) -> int:
    """What is left to refund. Stripe's `amount_refunded` may already include our pending
    refunds (charge.refunded counts them), so the larger of the two views is taken, never
    their sum."""
    ours = (
        pr.refunds.filter(status__in=[RefundStatus.PENDING, RefundStatus.SUCCEEDED]).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    return max(0, pr.amount - max(pr.amount_refunded, ours))


def refund_create(
    *,
    actor: User,
    payment_request: PaymentRequest,
    amount_text: str,
    reason: str,
    note: str,
    form_token: str,
) -> Refund:
    clinic_for_user(actor, payment_request.clinic_id, roles=MANAGERS)
    earlier = Refund.objects.filter(form_token=form_token).first()
    if earlier is not None:
        if earlier.payment_request_id != payment_request.pk:
            raise ServiceError(_("This refund form was already used for another payment."))
        return earlier  # the same form sent twice: one refund
    if reason not in RefundReason.values:
        raise ServiceError(_("Choose a reason for the refund."), field="reason")
    if not form_token or len(form_token) > 64:
        raise ServiceError(_("Reload the page and try again."))
    with transaction.atomic():
        pr = (
            PaymentRequest.objects.select_for_update(of=("self",))
            .select_related("clinic", "payer")
            .get(pk=payment_request.pk)
        )
        if pr.status not in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED):
            raise ServiceError(
                _("Only a paid payment can be refunded (this one is %(status)s).")
                % {"status": PaymentStatus(pr.status).label.lower()}
            )
        again = Refund.objects.filter(form_token=form_token).first()
        if again is not None:  # a double click that waited for the first one's lock
            return again
        left = refundable_amount(pr)
        if left <= 0:
            raise ServiceError(_("Nothing is left to refund."))
        amount = amount_parse(amount_text, pr.currency, maximum=left, minimum=1)
        try:
            with transaction.atomic():
                refund = Refund.objects.create(
                    payment_request=pr,
                    amount=amount,
                    reason=reason,
                    note=" ".join(note.split())[:300],
                    requested_by=actor,
                    form_token=form_token,
                )
        except IntegrityError:
            # The same form sent twice at the very same moment: one refund.
            return Refund.objects.get(form_token=form_token)
        result = get_gateway().refund_create(
            account_id=pr.stripe_account_id,
            intent_id=pr.payment_intent_id or "",
            amount=amount,
            reason=reason,
            # From the form, not the row: a resend after a lost answer (row rolled back) gets
            # Stripe's first refund back instead of a second one.
            idempotency_key=f"refund:{pr.pk}:{form_token}",
        )
        refund.stripe_refund_id = result.id
        refund.save(update_fields=["stripe_refund_id", "updated_at"])
        audit_record(
            action=AuditAction.PAYMENT_REFUNDED,
            actor=actor,
            clinic=pr.clinic,
            target=f"payment:{pr.pk}",
            summary=f"Refund of {amount_format(amount, pr.currency)} on {pr.reference} "
            f"({RefundReason(reason).label}){': ' + refund.note if refund.note else ''}",
        )
        refund_apply_result(refund=refund, result=result)
    refund.refresh_from_db()
    return refund


def refund_apply_result(*, refund: Refund, result: RefundResult) -> Refund:
    """Apply Stripe's word on a refund; move the request to refunded / partially refunded."""
    with transaction.atomic():
        pr = (
            PaymentRequest.objects.select_for_update(of=("self",))
            .select_related("clinic", "payer")
            .get(pk=refund.payment_request_id)
        )
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        # Stripe's refund statuses: pending, requires_action (some payment methods need the
        # customer to act first), succeeded, failed, canceled. Anything not final (including a
        # status Stripe may add later) leaves the refund pending: reconcile asks again.
        final = _FINAL_REFUND_STATUSES.get(result.status)
        if refund.status != RefundStatus.PENDING or final is None:
            if final is None and result.status != "pending":
                logger.info("refund %s is %s at Stripe: still pending", refund.pk, result.status)
            return refund
        refund.status = final
        refund.failure_reason = result.failure_reason[:200]
        refund.save(update_fields=["status", "failure_reason", "updated_at"])
        if refund.status in (RefundStatus.FAILED, RefundStatus.CANCELED):
            why = f": {refund.failure_reason}" if refund.failure_reason else ""
            audit_record(
                action=AuditAction.PAYMENT_REFUND_FAILED,
                actor=None,
                actor_label="Stripe",
                clinic=pr.clinic,
                target=f"payment:{pr.pk}",
                summary=f"Refund failed: {amount_format(refund.amount, pr.currency)} "
                f"on {pr.reference} was not refunded ({refund.status}{why})",
                data={"refund": str(refund.pk), "amount": refund.amount},
            )
        if refund.status == RefundStatus.SUCCEEDED:
            succeeded = (
                pr.refunds.filter(status=RefundStatus.SUCCEEDED).aggregate(total=Sum("amount"))[
                    "total"
                ]
                or 0
            )
            _set_refunded(pr, max(pr.amount_refunded, succeeded, _stripe_refunded(pr)))
            # email_sent_at: when the refund email went into the outbox (written with this
            # change, sent after commit and retried until it goes out): one email per refund.
            if pr.receipt_email and refund.email_sent_at is None:
                refund.email_sent_at = timezone.now()
                refund.save(update_fields=["email_sent_at"])
                email_send(
                    to=pr.receipt_email,
                    template="payments/email/refund",
                    context={
                        "pr": pr,
                        "clinic": pr.clinic,
                        "refund_amount": amount_format(refund.amount, pr.currency),
                        "amount": amount_format(pr.amount, pr.currency),
                    },
                )
    return refund


def _stripe_refunded(pr: PaymentRequest) -> int:
    """What Stripe's charge says was refunded in all (refunds made in its dashboard included)."""
    try:
        intent = get_gateway().intent_retrieve(
            account_id=pr.stripe_account_id, intent_id=pr.payment_intent_id or ""
        )
    except PaymentGatewayError:
        return 0  # charge.refunded or reconcile will catch up
    return intent.amount_refunded


def _set_refunded(pr: PaymentRequest, total: int) -> None:
    from carecall.payments.services import announce

    total = min(total, pr.amount)
    if total <= pr.amount_refunded and pr.status != PaymentStatus.PAID:
        return
    pr.amount_refunded = total
    if total >= pr.amount:
        pr.status = PaymentStatus.REFUNDED
    elif total > 0:
        pr.status = PaymentStatus.PARTIALLY_REFUNDED
    pr.save(update_fields=["amount_refunded", "status", "updated_at"])
    announce(pr)


def payment_request_sync_refunded(*, payment_request: PaymentRequest, amount_refunded: int) -> None:
    """Stripe's charge says this much was refunded (maybe from its dashboard): catch up.

    Whatever our own refunds (pending or done) and earlier entries do not account for was
    refunded outside CareCall, in Stripe's dashboard: that part goes on the audit trail."""
    with transaction.atomic():
        pr = (
            PaymentRequest.objects.select_for_update(of=("self",))
            .select_related("clinic")
            .get(pk=payment_request.pk)
        )
        paid = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
        if pr.status not in paid or amount_refunded <= pr.amount_refunded:
            return
        ours = (
            pr.refunds.filter(status__in=[RefundStatus.PENDING, RefundStatus.SUCCEEDED]).aggregate(
                total=Sum("amount")
            )["total"]
            or 0
        )
        target = f"payment:{pr.pk}"
        noted = sum(
            int(entry.data.get("refunded_at_stripe") or 0)
            for entry in AuditEntry.objects.filter(
                target=target, action=AuditAction.PAYMENT_REFUNDED, actor_label="Stripe"
            )
        )
        outside = min(amount_refunded, pr.amount) - ours - noted
        _set_refunded(pr, amount_refunded)
        if outside > 0:
            audit_record(
                action=AuditAction.PAYMENT_REFUNDED,
                actor=None,
                actor_label="Stripe",
                clinic=pr.clinic,
                target=target,
                summary=f"Refund of {amount_format(outside, pr.currency)} on {pr.reference} "
                "made in Stripe's dashboard",
                data={"refunded_at_stripe": outside},
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
            action=AuditAction.RECEIPT_RESENT,
            actor=actor,
            clinic=pr.clinic,
            target=f"payment:{pr.pk}",
            summary=f"Receipt for {pr.reference} resent to {pr.receipt_email}",
        )
