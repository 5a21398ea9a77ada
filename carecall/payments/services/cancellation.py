"""Cancelling unpaid payment requests: by a clinician or manager, or swept when the clinic's
Stripe account changes or goes."""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.audit.services import audit_record
from carecall.core.currencies import amount_format
from carecall.core.errors import ServiceError
from carecall.orgs.access import clinic_for_user
from carecall.payments.access import payment_cancel_require
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.gateway import PaymentGatewayError, get_gateway
from carecall.payments.models import OPEN_STATUSES, PaymentRequest, PaymentStatus
from carecall.payments.services.announce import payment_request_announce
from carecall.payments.services.intents import (
    payment_request_apply_intent,
    payment_request_reconcile,
)

logger = logging.getLogger(__name__)


def payment_request_cancel(*, actor: User, payment_request: PaymentRequest) -> PaymentRequest:
    clinic_for_user(actor, payment_request.clinic_id)
    payment_cancel_require(actor, payment_request)
    pr = payment_request
    if pr.status not in OPEN_STATUSES:
        raise ServiceError(_("Only a payment that is not paid yet can be cancelled."))
    if pr.payment_intent_id:
        try:
            intent = get_gateway().intent_cancel(
                account_id=pr.stripe_account_id,
                intent_id=pr.payment_intent_id,
                idempotency_key=f"{pr.pk}:cancel",
            )
        except PaymentGatewayError as error:
            # Maybe it was paid a moment ago: Stripe decides.
            refreshed = payment_request_reconcile(payment_request=pr)
            if refreshed.status not in OPEN_STATUSES:
                raise ServiceError(_("It was paid before it could be cancelled.")) from error
            raise ServiceError(error.message) from error
        if intent.status == "succeeded":
            payment_request_apply_intent(payment_request=pr, intent=intent)
            raise ServiceError(_("It was paid before it could be cancelled."))
    name = actor.get_full_name()
    payment_request_cancel_locally(pr.pk, _("Cancelled by %(name)s.") % {"name": name}, actor)
    pr.refresh_from_db()
    return pr


def payment_requests_cancel_open(
    *, clinic_id: int | None, account_id: str, reason: str, at_stripe: bool
) -> int:
    """Cancel every unpaid request a clinic made on an account (it is being changed or removed).

    Scoped to the clinic as well: once a change commits, another clinic may connect the same
    account, and its new requests are not ours to cancel. One request going wrong (Stripe, a
    broken rule) is logged and leaves the others to be swept."""
    open_requests = PaymentRequest.objects.filter(
        stripe_account_id=account_id, status__in=OPEN_STATUSES
    )
    if clinic_id is not None:
        open_requests = open_requests.filter(clinic_id=clinic_id)
    count = 0
    for pr in open_requests:
        try:
            count += _cancel_open_request(
                pr, account_id=account_id, reason=reason, at_stripe=at_stripe
            )
        except Exception:
            logger.exception("could not cancel payment request %s", pr.pk)
    return count


def _cancel_open_request(
    pr: PaymentRequest, *, account_id: str, reason: str, at_stripe: bool
) -> int:
    if at_stripe and pr.payment_intent_id:
        try:
            intent = get_gateway().intent_cancel(
                account_id=account_id,
                intent_id=pr.payment_intent_id,
                idempotency_key=f"{pr.pk}:cancel",
            )
        except PaymentGatewayError as error:
            logger.warning("could not cancel %s at Stripe: %s", pr.payment_intent_id, error.message)
        else:
            if intent.status == "succeeded":
                payment_request_apply_intent(payment_request=pr, intent=intent)
                return 0
    return 1 if payment_request_cancel_locally(pr.pk, reason) else 0


def payment_request_cancel_locally(
    payment_request_id: uuid.UUID, reason: str, actor: User | None = None
) -> bool:
    with transaction.atomic():
        pr = (
            PaymentRequest.objects.select_for_update(of=("self",))
            .select_related("clinic")
            .get(pk=payment_request_id)
        )
        if pr.status not in OPEN_STATUSES:
            return False
        pr.status = PaymentStatus.CANCELLED
        pr.cancel_reason = reason[:300]
        pr.cancelled_at = timezone.now()
        pr.save()
        audit_record(
            action=PaymentAction.PAYMENT_CANCELLED,
            actor=actor,
            actor_label="" if actor else "CareCall",
            clinic=pr.clinic,
            target=f"payment:{pr.pk}",
            summary=f"Cancelled {amount_format(pr.amount, pr.currency)} ({pr.reference}): {reason}",
        )
        payment_request_announce(pr)
        return True
