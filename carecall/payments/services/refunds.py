"""Refunds of paid requests (clinic admins and org admins).

No Stripe call is made while a database transaction is open: Stripe can take ~30 s, and on
SQLite a transaction that has written holds the one write lock of every clinic. A refund cannot
be taken back once Stripe made it, so it is not "call, then check" as for payment requests but
"reserve, call, record":

1. under the payment's row lock (a short transaction) the amount is checked against what is
   left and our `Refund` row is written, pending and without a Stripe id: it counts as taken,
   so a second refund made meanwhile sees it and can never take the total past what was paid;
2. Stripe is asked with no transaction open, idempotency key = the payment and the form's
   token, so a retry (the same form sent again, or `refunds_resume_unsent`) gets Stripe's first
   refund back instead of a second one;
3. under the lock again, Stripe's refund id and answer are recorded.

When Stripe refuses or does not answer, the reservation is deleted: nothing is left behind and
the same form may be sent again. The outcome may come at once, later by webhook
(`refund.updated`, `charge.refunded`) or by reconcile.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.audit.models import AuditEntry
from carecall.audit.services import audit_record
from carecall.core.currencies import amount_format, amount_parse
from carecall.core.errors import ServiceError
from carecall.notifications.services import email_send
from carecall.orgs.access import MANAGERS, clinic_for_user
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.gateway import PaymentGatewayError, RefundResult, get_gateway
from carecall.payments.models import (
    PaymentRequest,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
)
from carecall.payments.services.announce import payment_request_announce

logger = logging.getLogger(__name__)

_FINAL_REFUND_STATUSES = {
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}

# Stripe keeps an idempotency key for 24 hours; a reservation older than this is not sent
# again (Stripe might no longer know it made that refund, and would make a second one).
_RESEND_AT_MOST_AFTER = timedelta(hours=23)


def refundable_amount(pr: PaymentRequest) -> int:
    """What is left to refund. Stripe's `amount_refunded` may already include our pending
    refunds (charge.refunded counts them), so the larger of the two views is taken, never
    their sum. Pending includes refunds being sent to Stripe right now."""
    ours = (
        pr.refunds.filter(status__in=[RefundStatus.PENDING, RefundStatus.SUCCEEDED]).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    return max(0, pr.amount - max(pr.amount_refunded, ours))


def _idempotency_key(refund: Refund) -> str:
    # From the form, not the row: a resend after a lost answer (its row deleted) gets Stripe's
    # first refund back instead of a second one.
    return f"refund:{refund.payment_request_id}:{refund.form_token}"


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
    # A refund a crash left half-sent still holds its amount: settle it first.
    refunds_resume_unsent(payment_request=payment_request)
    refund, reserved = _refund_reserve(
        actor=actor,
        payment_request=payment_request,
        amount_text=amount_text,
        reason=reason,
        note=note,
        form_token=form_token,
    )
    if not reserved:
        return refund  # the same form, sent while the first was being handled
    pr = refund.payment_request
    try:
        result = get_gateway().refund_create(
            account_id=pr.stripe_account_id,
            intent_id=pr.payment_intent_id or "",
            amount=refund.amount,  # our record's, checked under the lock
            reason=refund.reason,
            idempotency_key=_idempotency_key(refund),
        )
    except PaymentGatewayError:
        # Refused, or no answer (then Stripe may have made it: the same form sent again gets
        # that refund back through the idempotency key). Either way nothing is kept here.
        Refund.objects.filter(pk=refund.pk, stripe_refund_id__isnull=True).delete()
        raise
    return _refund_sent(refund=refund, result=result, actor=actor)


def _refund_reserve(
    *,
    actor: User,
    payment_request: PaymentRequest,
    amount_text: str,
    reason: str,
    note: str,
    form_token: str,
) -> tuple[Refund, bool]:
    """Check and write our refund row under the payment's lock, before Stripe is asked.
    Returns (refund, whether it is new: False when the same form got there first)."""
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
            return again, False
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
            return Refund.objects.get(form_token=form_token), False
    return refund, True


def _refund_sent(*, refund: Refund, result: RefundResult, actor: User) -> Refund:
    """Stripe made (or gave back) the refund: record its id, audit it and apply its status."""
    stripe_refunded = _stripe_refunded_if_succeeded(refund, result)
    with transaction.atomic():
        pr, locked = _lock(refund)
        if locked.stripe_refund_id is None:
            locked.stripe_refund_id = result.id
            locked.save(update_fields=["stripe_refund_id", "updated_at"])
            audit_record(
                action=PaymentAction.PAYMENT_REFUNDED,
                actor=actor,
                clinic=pr.clinic,
                target=f"payment:{pr.pk}",
                summary=f"Refund of {amount_format(locked.amount, pr.currency)} on "
                f"{pr.reference} ({RefundReason(locked.reason).label})"
                f"{': ' + locked.note if locked.note else ''}",
            )
        _apply_result(pr, locked, result, stripe_refunded)
    locked.refresh_from_db()
    return locked


def refunds_resume_unsent(
    *, payment_request: PaymentRequest | None = None, older_than: timedelta | None = None
) -> int:
    """Refunds reserved but never recorded as sent (the process died while Stripe was being
    asked): ask Stripe again with the same idempotency key, which gives back the refund it made
    or makes the one the admin asked for. Only reservations older than the longest a Stripe call
    can take (timeout × tries, and a minute), so one still being sent is left alone. Returns how
    many were settled (recorded or, when Stripe refuses, deleted)."""
    if older_than is None:
        tries = settings.STRIPE_MAX_NETWORK_RETRIES + 1
        older_than = timedelta(seconds=settings.STRIPE_TIMEOUT_SECONDS * tries + 60)
    now = timezone.now()
    unsent = Refund.objects.filter(
        status=RefundStatus.PENDING, stripe_refund_id__isnull=True, created_at__lte=now - older_than
    ).select_related("payment_request", "requested_by")
    if payment_request is not None:
        unsent = unsent.filter(payment_request=payment_request)
    settled = 0
    for refund in unsent:
        if refund.created_at < now - _RESEND_AT_MOST_AFTER:
            logger.error(
                "refund %s was never confirmed by Stripe and is too old to send again: "
                "look it up in Stripe's dashboard",
                refund.pk,
            )
            continue
        pr = refund.payment_request
        try:
            result = get_gateway().refund_create(
                account_id=pr.stripe_account_id,
                intent_id=pr.payment_intent_id or "",
                amount=refund.amount,
                reason=refund.reason,
                idempotency_key=_idempotency_key(refund),
            )
        except PaymentGatewayError as error:
            if error.retryable:
                logger.warning("unsent refund %s: %s (tried again later)", refund.pk, error.message)
                continue
            # Stripe refuses it, so it never made it: the amount is free again.
            logger.warning("unsent refund %s refused by Stripe: %s", refund.pk, error.message)
            Refund.objects.filter(pk=refund.pk, stripe_refund_id__isnull=True).delete()
        else:
            _refund_sent(refund=refund, result=result, actor=refund.requested_by)
        settled += 1
    return settled


def _lock(refund: Refund) -> tuple[PaymentRequest, Refund]:
    """The refund's payment and the refund, locked (in that order, always) for this
    transaction."""
    pr = (
        PaymentRequest.objects.select_for_update(of=("self",))
        .select_related("clinic", "payer")
        .get(pk=refund.payment_request_id)
    )
    return pr, Refund.objects.select_for_update().get(pk=refund.pk)


def _stripe_refunded_if_succeeded(refund: Refund, result: RefundResult) -> int:
    """Stripe's refunded total, asked before any lock is taken, when this answer will mark a
    pending refund succeeded (the total then says whether refunds made in Stripe's dashboard
    went with it). Refunds only ever add up, so a total read a moment early is never too
    much; 0 when it is not needed."""
    if _FINAL_REFUND_STATUSES.get(result.status) != RefundStatus.SUCCEEDED:
        return 0
    if not Refund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING).exists():
        return 0
    return _stripe_refunded(PaymentRequest.objects.get(pk=refund.payment_request_id))


def refund_apply_result(*, refund: Refund, result: RefundResult) -> Refund:
    """Apply Stripe's word on a refund; move the request to refunded / partially refunded.
    Call it with no transaction open: it may ask Stripe for the charge's refunded total."""
    stripe_refunded = _stripe_refunded_if_succeeded(refund, result)
    with transaction.atomic():
        pr, locked = _lock(refund)
        return _apply_result(pr, locked, result, stripe_refunded)


def _apply_result(
    pr: PaymentRequest, refund: Refund, result: RefundResult, stripe_refunded: int
) -> Refund:
    """Under the payment's and the refund's locks (see `_lock`)."""
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
            action=PaymentAction.PAYMENT_REFUND_FAILED,
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
            pr.refunds.filter(status=RefundStatus.SUCCEEDED).aggregate(total=Sum("amount"))["total"]
            or 0
        )
        _set_refunded(pr, max(pr.amount_refunded, succeeded, stripe_refunded))
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
    total = min(total, pr.amount)
    if total <= pr.amount_refunded and pr.status != PaymentStatus.PAID:
        return
    pr.amount_refunded = total
    if total >= pr.amount:
        pr.status = PaymentStatus.REFUNDED
    elif total > 0:
        pr.status = PaymentStatus.PARTIALLY_REFUNDED
    pr.save(update_fields=["amount_refunded", "status", "updated_at"])
    payment_request_announce(pr)


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
                target=target, action=PaymentAction.PAYMENT_REFUNDED, actor_label="Stripe"
            )
        )
        outside = min(amount_refunded, pr.amount) - ours - noted
        _set_refunded(pr, amount_refunded)
        if outside > 0:
            audit_record(
                action=PaymentAction.PAYMENT_REFUNDED,
                actor=None,
                actor_label="Stripe",
                clinic=pr.clinic,
                target=target,
                summary=f"Refund of {amount_format(outside, pr.currency)} on {pr.reference} "
                "made in Stripe's dashboard",
                data={"refunded_at_stripe": outside},
            )


def payment_request_refresh_refunds(*, payment_request: PaymentRequest) -> bool:
    """Re-read a paid request's refunds from Stripe and apply them: the outcome of each of our
    refunds still pending, then the charge's refunded total (which also covers refunds we never
    recorded: made in Stripe's dashboard, or by a refund of ours whose answer was lost and whose
    reservation was dropped). Stripe calls with no transaction open. Returns whether anything
    changed. PaymentGatewayError propagates (the caller asks again later)."""
    pr = payment_request
    if pr.status not in (
        PaymentStatus.PAID,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
    ):
        return False
    before = _refunds_state(pr)
    gateway = get_gateway()
    pending = pr.refunds.filter(status=RefundStatus.PENDING, stripe_refund_id__isnull=False)
    for refund in pending:
        result = gateway.refund_retrieve(
            account_id=pr.stripe_account_id, refund_id=refund.stripe_refund_id or ""
        )
        if result.id == refund.stripe_refund_id:
            refund_apply_result(refund=refund, result=result)
    intent = gateway.intent_retrieve(
        account_id=pr.stripe_account_id, intent_id=pr.payment_intent_id or ""
    )
    if intent.id == pr.payment_intent_id:
        payment_request_sync_refunded(payment_request=pr, amount_refunded=intent.amount_refunded)
        _refunded_given_back(pr, intent.amount_refunded)
    return _refunds_state(pr) != before


def _refunded_given_back(payment_request: PaymentRequest, stripe_refunded: int) -> None:
    """A refund Stripe failed or canceled gives the money back to the charge, so its refunded
    total goes down: follow Stripe's (the only way the total ever decreases), and only when one
    of our refunds did fail (a total read before a new refund is never taken for this)."""
    with transaction.atomic():
        pr = (
            PaymentRequest.objects.select_for_update(of=("self",))
            .select_related("clinic")
            .get(pk=payment_request.pk)
        )
        failed = pr.refunds.filter(status__in=[RefundStatus.FAILED, RefundStatus.CANCELED])
        if stripe_refunded >= pr.amount_refunded or not failed.exists():
            return
        pr.amount_refunded = max(stripe_refunded, 0)
        if pr.amount_refunded >= pr.amount:
            pr.status = PaymentStatus.REFUNDED
        elif pr.amount_refunded > 0:
            pr.status = PaymentStatus.PARTIALLY_REFUNDED
        else:
            pr.status = PaymentStatus.PAID
        pr.save(update_fields=["amount_refunded", "status", "updated_at"])
        payment_request_announce(pr)


def _refunds_state(pr: PaymentRequest) -> tuple[object, ...]:
    fresh = PaymentRequest.objects.get(pk=pr.pk)
    return (
        fresh.status,
        fresh.amount_refunded,
        tuple(fresh.refunds.order_by("pk").values_list("pk", "status")),
    )
