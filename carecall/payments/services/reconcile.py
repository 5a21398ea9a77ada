"""The reconcile job (`payments_reconcile`): what Stripe says that CareCall has not heard of.

- **Stuck requests**, unpaid for a while, are re-read from Stripe; overdue ones expire.
- **Pending refunds** are asked about again; refunds a killed process reserved but never
  recorded are sent again with their idempotency key (`refunds_resume_unsent`).
- **Orphan intents.** An intent is made before its request's row is written (no lock is held
  while Stripe is asked). If the process is killed in between, or Stripe's answer comes too late,
  Stripe keeps an open intent nobody can pay (nobody has its client secret). Each connected
  account's intents of the last `ORPHAN_LOOKBACK` are listed; one whose metadata names this
  clinic and a request that does not exist, still open, and older than the longest a request's
  create can take (so one whose row is being written right now is left alone), is cancelled
  with the same idempotency key an intentional cancel uses.
- **Refunds.** A process killed mid-refund, or a refund whose answer was lost, plus a lost
  webhook, leaves Stripe refunded and CareCall showing nothing. Each connected account's refunds
  of the last `REFUND_LOOKBACK` are listed (Stripe retries webhooks for 3 days); a payment with
  one that CareCall has not seen settled since is re-read (`payment_request_refresh_refunds`).

One list call per connected account and step (paged by the SDK, capped), so the cost follows
the number of clinics, not of payments.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from carecall.core.errors import ServiceError
from carecall.notifications.services import email_outbox_send_due
from carecall.payments.gateway import PaymentGatewayError, RefundResult, get_gateway
from carecall.payments.models import (
    OPEN_STATUSES,
    PaymentRequest,
    Refund,
    RefundStatus,
    StripeConnection,
)
from carecall.payments.services.intents import payment_request_reconcile
from carecall.payments.services.refunds import (
    payment_request_refresh_refunds,
    refund_apply_result,
    refunds_resume_unsent,
)
from carecall.payments.services.requests import payment_request_expire

logger = logging.getLogger(__name__)

ORPHAN_LOOKBACK = timedelta(days=7)
REFUND_LOOKBACK = timedelta(days=3)
LIST_LIMIT = 1000  # per account and step: a run never pages without end

_OPEN_AT_STRIPE = ("requires_payment_method", "requires_confirmation", "requires_action")
_SETTLED = {"succeeded": RefundStatus.SUCCEEDED, "failed": RefundStatus.FAILED}


def longest_stripe_call() -> timedelta:
    """The longest one Stripe call (all its SDK tries) can take, and a minute to spare."""
    tries = settings.STRIPE_MAX_NETWORK_RETRIES + 1
    return timedelta(seconds=settings.STRIPE_TIMEOUT_SECONDS * tries + 60)


def intents_orphaned_cancel(*, grace: timedelta | None = None) -> int:
    """Cancel the connected accounts' open intents whose request was never saved. Returns how
    many were cancelled. A Stripe error on one account is logged; the others are still done."""
    grace = longest_stripe_call() if grace is None else grace
    now = timezone.now()
    cancelled = 0
    for connection in StripeConnection.objects.order_by("pk"):
        try:
            intents = get_gateway().intents_list(
                account_id=connection.account_id,
                created_gte=int((now - ORPHAN_LOOKBACK).timestamp()),
                created_lte=int((now - grace).timestamp()),
                limit=LIST_LIMIT,
            )
        except PaymentGatewayError as error:
            logger.warning("orphan intents of %s: %s", connection.account_id, error.message)
            continue
        for intent in intents:
            request_id = _request_named(intent.metadata, clinic_id=connection.clinic_id)
            if request_id is None or intent.status not in _OPEN_AT_STRIPE:
                continue
            if PaymentRequest.objects.filter(pk=request_id).exists():
                continue
            if PaymentRequest.objects.filter(payment_intent_id=intent.id).exists():
                continue
            try:
                get_gateway().intent_cancel(
                    account_id=connection.account_id,
                    intent_id=intent.id,
                    idempotency_key=f"{request_id}:cancel",
                )
            except PaymentGatewayError as error:
                logger.warning("could not cancel orphan intent %s: %s", intent.id, error.message)
                continue
            logger.info(
                "cancelled orphan intent %s (request %s never saved)", intent.id, request_id
            )
            cancelled += 1
    return cancelled


def _request_named(metadata: dict[str, str], *, clinic_id: int) -> uuid.UUID | None:
    """The request an intent's metadata names, when CareCall made it for this clinic (the
    clinic's own intents, or another platform's, carry no such metadata and are left alone)."""
    if metadata.get("clinic") != str(clinic_id) or not metadata.get("reference"):
        return None
    try:
        return uuid.UUID(metadata.get("payment_request") or "")
    except ValueError:
        return None


def refunds_recent_sync() -> int:
    """Re-read the payments that have a refund at Stripe CareCall has not seen settled.
    Returns how many payments changed."""
    since = int((timezone.now() - REFUND_LOOKBACK).timestamp())
    changed = 0
    for connection in StripeConnection.objects.order_by("pk"):
        try:
            refunds = get_gateway().refunds_list(
                account_id=connection.account_id, created_gte=since, limit=LIST_LIMIT
            )
        except PaymentGatewayError as error:
            logger.warning("refunds of %s: %s", connection.account_id, error.message)
            continue
        by_intent: dict[str, list[RefundResult]] = defaultdict(list)
        for refund in refunds:
            if refund.payment_intent:
                by_intent[refund.payment_intent].append(refund)
        requests = PaymentRequest.objects.filter(
            stripe_account_id=connection.account_id, payment_intent_id__in=list(by_intent)
        )
        for pr in requests:
            if not _refunds_unseen(pr, by_intent[pr.payment_intent_id or ""]):
                continue
            try:
                changed += int(payment_request_refresh_refunds(payment_request=pr))
            except PaymentGatewayError as error:
                logger.warning("refunds of %s: %s", pr.pk, error.message)
            except Exception:
                logger.exception("reconcile: refunds of payment request %s failed", pr.pk)
    return changed


def _refunds_unseen(pr: PaymentRequest, at_stripe: list[RefundResult]) -> bool:
    """Whether Stripe has a refund of this payment that CareCall has not taken in: one of ours
    whose status Stripe has moved on, or one made after our last change to the payment (a
    refund of ours never recorded, or one made in Stripe's dashboard) whose charge total we
    have not synced since."""
    ours = dict(
        Refund.objects.filter(payment_request=pr, stripe_refund_id__isnull=False).values_list(
            "stripe_refund_id", "status"
        )
    )
    last_change = int(pr.updated_at.timestamp())
    for refund in at_stripe:
        status = ours.get(refund.id)
        if status is None:
            if refund.created >= last_change:
                return True
        elif status == RefundStatus.PENDING and refund.status in (
            "succeeded",
            "failed",
            "canceled",
        ):
            return True
    return False


def payments_reconcile(*, older_than: timedelta = timedelta(minutes=3)) -> dict[str, int]:
    """Re-read from Stripe every request stuck unpaid for a while; expire overdue ones; ask
    again about pending refunds; send the outbox emails that are due. (Stored webhook events
    are the workers' job: `payments/webhooks.py`.)"""
    counts = {"checked": 0, "changed": 0, "expired": 0, "errors": 0, "refunds": 0}
    cutoff = timezone.now() - older_than
    counts["emails"] = 0
    # One broken request, refund, event or email must not stop the others, nor the later steps
    # (which would then never run again): each is logged, counted as an error, and passed by.
    # Overdue ones at once, however recently touched: the payer's page already shows them
    # expired (its GET only reads), and this is where that is recorded.
    stuck = PaymentRequest.objects.filter(
        Q(updated_at__lte=cutoff) | Q(expires_at__lte=timezone.now()), status__in=OPEN_STATUSES
    )
    for pr in stuck.iterator():
        try:
            if pr.expires_at <= timezone.now():
                counts["expired"] += int(payment_request_expire(payment_request=pr))
                continue
            counts["checked"] += 1
            before = pr.status
            after = payment_request_reconcile(payment_request=pr).status
        except (PaymentGatewayError, ServiceError) as error:
            counts["errors"] += 1
            logger.warning("reconcile %s: %s", pr.pk, error)
            continue
        except Exception:
            counts["errors"] += 1
            logger.exception("reconcile: payment request %s failed", pr.pk)
            continue
        counts["changed"] += int(after != before)
    try:
        counts["refunds"] = _reconcile_refunds(cutoff)
    except Exception:
        counts["errors"] += 1
        logger.exception("reconcile: pending refunds could not be checked")
    counts["refunds_resumed"] = counts["refunds_synced"] = counts["orphans_cancelled"] = 0
    # Refunds a killed process reserved but never recorded; then what Stripe refunded that we
    # never heard of (a lost answer plus a lost webhook); then intents whose request was never
    # saved (below).

    for name, step in (
        ("refunds_resumed", refunds_resume_unsent),
        ("refunds_synced", refunds_recent_sync),
        ("orphans_cancelled", intents_orphaned_cancel),
    ):
        try:
            counts[name] = step()
        except Exception:
            counts["errors"] += 1
            logger.exception("reconcile: %s failed", name)
    try:
        # Emails (receipts among them) whose after-commit try failed: retried, with backoff.
        counts["emails"] = email_outbox_send_due()["sent"]
    except Exception:
        counts["errors"] += 1
        logger.exception("reconcile: the email outbox could not be sent")
    return counts


def _reconcile_refunds(cutoff: datetime) -> int:
    """Refunds still pending at Stripe after a while: ask again."""

    changed = 0
    pending = Refund.objects.filter(
        status=RefundStatus.PENDING, updated_at__lte=cutoff, stripe_refund_id__isnull=False
    ).select_related("payment_request")
    for refund in pending:
        before = refund.status
        try:
            result = get_gateway().refund_retrieve(
                account_id=refund.payment_request.stripe_account_id,
                refund_id=refund.stripe_refund_id or "",
            )
            after = refund_apply_result(refund=refund, result=result).status
        except PaymentGatewayError as error:
            logger.warning("reconcile refund %s: %s", refund.pk, error.message)
            continue
        except Exception:
            logger.exception("reconcile: refund %s failed", refund.pk)
            continue
        changed += int(after != before)
    return changed
