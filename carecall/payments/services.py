"""Payments: the clinic's Stripe connection, payment requests in calls, and what Stripe tells us.

Rules (docs/payments.md): amounts are integers in minor units and only ever come
from our own record; one PaymentIntent per request (idempotency key = the request's id); Stripe
decides what is paid, through the webhook or a retrieve, whichever comes first; every change is
made under a row lock, moves forward only, and announces itself after commit.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.audit.services import audit_record
from carecall.calls.events import broadcast_on_commit, participant_group
from carecall.calls.models import Participant, ParticipantKind, Visit, VisitStatus
from carecall.clinic_apps.models import AppKey
from carecall.clinic_apps.selectors import clinic_app_is_enabled
from carecall.core.currencies import CURRENCIES, amount_format, amount_parse
from carecall.core.errors import ServiceError
from carecall.core.text import text_refuse_control
from carecall.notifications.models import OutboxEmail
from carecall.notifications.services import email_outbox_send_due, email_send
from carecall.orgs.access import MANAGERS, clinic_for_user
from carecall.orgs.models import Clinic
from carecall.payments.access import payment_viewers_among
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.clinic_settings import payment_max_minor
from carecall.payments.gateway import Intent, PaymentGatewayError, get_gateway
from carecall.payments.models import (
    OPEN_STATUSES,
    PaymentRequest,
    PaymentStatus,
    StripeConnection,
)
from carecall.payments.receipts import receipt_details
from carecall.payments.schemas import PaymentOut
from carecall.payments.selectors import payment_info

logger = logging.getLogger(__name__)

DESCRIPTION_MAX = 200
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out on the phone


# ----------------------------------------------------------------------------- connection


def _require_payment_gateway(clinic: Clinic) -> None:
    if not clinic_app_is_enabled(clinic, AppKey.PAYMENT_GATEWAY):
        raise ServiceError(
            _("The Payment Gateway app is not enabled for %(clinic)s yet. Request it under Apps.")
            % {"clinic": clinic.name}
        )


def connection_start(*, actor: User, clinic: Clinic, redirect_uri: str) -> tuple[str, str]:
    """Begin Connect OAuth. Returns (state to keep in the session, Stripe's authorize URL)."""
    clinic_for_user(actor, clinic.pk, roles=MANAGERS)
    _require_payment_gateway(clinic)
    if not settings.STRIPE_CONNECT_CLIENT_ID:
        raise ServiceError(_("Stripe Connect is not configured on this server."))
    state = secrets.token_urlsafe(32)
    url = get_gateway().oauth_authorize_url(
        state=state, redirect_uri=redirect_uri, email=clinic.contact_email
    )
    return state, url


def _cancel_open_requests(
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
    return 1 if _cancel_locally(pr.pk, reason) else 0


def _cancel_locally(payment_request_id: uuid.UUID, reason: str, actor: User | None = None) -> bool:
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
        announce(pr)
        return True


def connection_complete(*, actor: User, clinic: Clinic, code: str) -> StripeConnection:
    """Finish Connect OAuth: store the account (replacing an earlier one) and its details."""
    clinic_for_user(actor, clinic.pk, roles=MANAGERS)
    _require_payment_gateway(clinic)
    gateway = get_gateway()
    account_id = gateway.oauth_complete(code=code)
    account = gateway.account_retrieve(account_id=account_id)
    if account.default_currency not in CURRENCIES:
        raise ServiceError(
            _("That Stripe account's currency (%(code)s) is not supported by CareCall.")
            % {"code": account.default_currency}
        )
    other = StripeConnection.objects.filter(account_id=account_id).exclude(clinic=clinic).first()
    if other is not None:
        # Refused before anything else changes: the clinic keeps its account and its requests.
        raise ServiceError(
            _("That Stripe account is already connected to %(clinic)s.")
            % {"clinic": other.clinic.name}
        )
    with transaction.atomic():
        other = (
            StripeConnection.objects.filter(account_id=account_id).exclude(clinic=clinic).first()
        )
        if other is not None:
            raise ServiceError(
                _("That Stripe account is already connected to %(clinic)s.")
                % {"clinic": other.clinic.name}
            )
        # The row is replaced under its lock, which a new request's insert also takes, before
        # the old account's open requests are swept below: a request whose intent was being
        # made meanwhile either landed before (and is swept) or sees the new account (refused).
        previous = _connection_lock(clinic.pk)
        connection, _created = StripeConnection.objects.update_or_create(
            clinic=clinic,
            defaults={
                "account_id": account.id,
                "account_name": account.name,
                "country": account.country,
                "default_currency": account.default_currency,
                "charges_enabled": account.charges_enabled,
                "connected_at": timezone.now(),
                "connected_by": actor,
            },
        )
        # The clinic's payments are in its account's currency.
        Clinic.objects.filter(pk=clinic.pk).update(currency=account.default_currency)
        changed = previous is not None and previous.account_id != account_id
        audit_record(
            action=PaymentAction.STRIPE_CHANGED if changed else PaymentAction.STRIPE_CONNECTED,
            actor=actor,
            clinic=clinic,
            target=f"stripe:{account.id}",
            summary=(
                f"Changed Stripe account from {previous.account_id} "
                f"to {account.name} ({account.id})"
                if changed and previous
                else f"Connected Stripe account {account.name} ({account.id})"
            ),
        )
    if previous is not None and previous.account_id != account_id:
        # We still have access to the old account (only its owner can revoke it).
        _cancel_open_requests(
            clinic_id=clinic.pk,
            account_id=previous.account_id,
            reason=_("The clinic changed its Stripe account."),
            at_stripe=True,
        )
    return connection


def _connection_lock(clinic_id: int) -> StripeConnection | None:
    """The clinic's connection row, locked until the transaction ends (None: not connected).

    Taken by whatever replaces or deletes the row and by the insert of a new request, so that
    insert sees the account that is current when it commits."""
    return StripeConnection.objects.select_for_update().filter(clinic_id=clinic_id).first()


def connection_remove(*, actor: User, clinic: Clinic) -> None:
    """Remove: cancel unpaid requests, deauthorise the account at Stripe, forget it."""
    clinic_for_user(actor, clinic.pk, roles=MANAGERS)
    connection = StripeConnection.objects.filter(clinic=clinic).first()
    if connection is None:
        raise ServiceError(_("No Stripe account is connected."))
    reason = _("The clinic removed its Stripe account.")
    # At Stripe first, while we still have access (no database lock is held meanwhile).
    _cancel_open_requests(
        clinic_id=clinic.pk, account_id=connection.account_id, reason=reason, at_stripe=True
    )
    get_gateway().oauth_deauthorize(account_id=connection.account_id)
    with transaction.atomic():
        current = _connection_lock(clinic.pk)
        if current is None:
            return  # removed meanwhile (another admin, or Stripe's deauthorization event)
        if current.account_id != connection.account_id:
            raise ServiceError(
                _(
                    "Another admin connected a different Stripe account meanwhile; that one "
                    "is still connected. Remove it again if you meant to."
                )
            )
        audit_record(
            action=PaymentAction.STRIPE_REMOVED,
            actor=actor,
            clinic=clinic,
            target=f"stripe:{connection.account_id}",
            summary=f"Removed Stripe account {connection.account_name} ({connection.account_id})",
        )
        StripeConnection.objects.filter(pk=connection.pk).delete()
        # Under the same lock: a request saved since the sweep above (its intent was being made
        # while we cancelled) is cancelled too; any later one sees no account and is refused.
        _cancel_open_requests(
            clinic_id=clinic.pk, account_id=connection.account_id, reason=reason, at_stripe=False
        )


def connection_forget_account(*, account_id: str, event_created: int | None = None) -> bool:
    """The clinic disconnected CareCall from Stripe's side (account.application.deauthorized).

    Webhooks can come late or be retried for days: an old event about an account that was
    removed and connected again since must not undo the new connection. So Stripe is asked
    whether access is really gone; while it still works the event is stale and ignored.
    """
    connection = StripeConnection.objects.filter(account_id=account_id).first()
    if connection is not None:
        if event_created and int(connection.connected_at.timestamp()) > event_created:
            return False
        try:
            get_gateway().account_retrieve(account_id=account_id)
        except PaymentGatewayError as error:
            if error.retryable:
                raise  # ask again later (the event stays unprocessed)
        else:
            return False
    forgot = False
    swept_clinic: int | None = None  # no connection left: every open request on it is stranded
    with transaction.atomic():
        # Deleted under the lock new requests' inserts take, before the sweep: none can land on
        # this account after it.
        locked = (
            StripeConnection.objects.select_for_update(of=("self",))
            .select_related("clinic")
            .filter(account_id=account_id)
            .first()
        )
        if locked is not None and (
            connection is None or locked.connected_at != connection.connected_at
        ):
            return False  # connected again while Stripe was asked: this event is not about it
        if locked is not None:
            audit_record(
                action=PaymentAction.STRIPE_DISCONNECTED,
                actor=None,
                actor_label="Stripe",
                clinic=locked.clinic,
                target=f"stripe:{account_id}",
                summary=f"{locked.account_name} ({account_id}) disconnected CareCall at Stripe",
            )
            swept_clinic = locked.clinic_id
            locked.delete()
            forgot = True
        _cancel_open_requests(
            clinic_id=swept_clinic,
            account_id=account_id,
            reason=_("The clinic's Stripe account was disconnected."),
            at_stripe=False,  # we no longer have access to it
        )
    return forgot


# ----------------------------------------------------------------------------- requests


def announce(pr: PaymentRequest) -> None:
    """Tell the call's clinicians and the payer (only them: amount, description and card are
    nobody else's business, not even another guest's) about a new or changed request."""
    message = PaymentOut(request=payment_info(pr))
    staff = dict(
        Participant.objects.filter(
            visit_id=pr.visit_id, kind=ParticipantKind.CLINICIAN, user_id__isnull=False
        ).values_list("pk", "user_id")
    )
    # Of the staff in the call, only those who may see it: its requester and the clinic's
    # managers, not a colleague (payments/access.py).
    viewers = payment_viewers_among(pr, staff.values())
    shown = [pk for pk, user_id in staff.items() if user_id in viewers]
    for participant_id in {pr.payer_id, *shown}:
        broadcast_on_commit(participant_group(participant_id), message)


def _new_reference() -> str:
    return "CC-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


def _is_clinician_in_call(actor: User, visit: Visit) -> bool:
    return Participant.objects.filter(
        visit=visit,
        user=actor,
        kind=ParticipantKind.CLINICIAN,
        left_at__isnull=True,
        joined_at__isnull=False,
    ).exists()


def _clinician_in_call(actor: User, visit: Visit) -> None:
    clinic_for_user(actor, visit.clinic_id)
    if not _is_clinician_in_call(actor, visit):
        raise PermissionDenied(_("Only a clinician in this call can request payments in it."))


def payment_request_create(
    *,
    actor: User,
    visit: Visit,
    amount_text: str,
    description: str,
    payer_id: str | None = None,
) -> PaymentRequest:
    """A clinician asks for a payment in the call; its PaymentIntent is on the clinic's account."""
    _clinician_in_call(actor, visit)
    clinic = visit.clinic
    if visit.status == VisitStatus.DONE:
        raise ServiceError(_("This call has ended."))
    _require_payment_gateway(clinic)
    connection = StripeConnection.objects.filter(clinic=clinic).first()
    if connection is None:
        raise ServiceError(
            _(
                "%(clinic)s has no Stripe account connected. "
                "A clinic admin connects it under Configure > Customer payments."
            )
            % {"clinic": clinic.name}
        )
    currency = connection.default_currency
    maximum = payment_max_minor(clinic, currency=currency)
    amount = amount_parse(amount_text, currency, maximum=maximum)
    # Before Stripe sees it: a NUL sent on would come back in every webhook of the intent.
    text_refuse_control(description, field="description", multiline=True)
    description = " ".join(description.split())
    if not description:
        raise ServiceError(_("Describe what the payment is for."), field="description")
    if len(description) > DESCRIPTION_MAX:
        raise ServiceError(
            _("The description can be at most %(n)d characters.") % {"n": DESCRIPTION_MAX},
            field="description",
        )
    payers = Participant.objects.filter(
        visit=visit, kind__in=[ParticipantKind.PATIENT, ParticipantKind.GUEST]
    )
    if payer_id:
        try:
            uuid.UUID(str(payer_id))
        except ValueError:
            raise ServiceError(
                _("Choose who pays from the people in this call."), field="payer"
            ) from None
        payer = payers.filter(pk=payer_id).first()
        if payer is None or (payer.kind == ParticipantKind.GUEST and payer.claimed_at is None):
            raise ServiceError(_("Choose who pays from the people in this call."), field="payer")
    else:
        payer = payers.get(kind=ParticipantKind.PATIENT)
    now = timezone.now()
    pr = PaymentRequest(  # its id (a uuid) is made here: it is the Stripe idempotency key
        visit=visit,
        clinic=clinic,
        payer=payer,
        requested_by=actor,
        stripe_account_id=connection.account_id,
        amount=amount,
        currency=currency,
        description=description,
        expires_at=now + timedelta(days=settings.PAYMENT_LINK_DAYS),
        reference=_free_reference(),
    )
    # Stripe first, outside any transaction, so a slow Stripe holds no database lock (SQLite
    # has a single writer). If Stripe refuses, cannot be reached or times out, nothing has been
    # written: the clinician is told to try again. The key (the request's id) makes the SDK's
    # retries return the same intent; an intent whose request then fails to save is cancelled.
    intent = get_gateway().intent_create(
        account_id=connection.account_id,
        amount=amount,
        currency=currency,
        description=description,
        metadata={
            "payment_request": str(pr.pk),
            "clinic": str(clinic.pk),
            "visit": str(visit.pk),
            "reference": pr.reference,
        },
        statement_descriptor_suffix=_descriptor_suffix(clinic),
        idempotency_key=str(pr.pk),
    )
    pr.payment_intent_id = intent.id
    pr.client_secret = intent.client_secret
    committed = False

    def _committed() -> None:
        nonlocal committed
        committed = True

    try:
        with transaction.atomic():
            # The first after-commit callback: it says the row is saved, whatever a later one
            # (live events, emails) then does.
            transaction.on_commit(_committed)
            # Stripe may have taken many seconds: what was checked before is checked again,
            # under the locks that ending the call, leaving it and changing or removing the
            # clinic's account take, so the request never lands on an ended call or on an
            # account that is no longer the clinic's (whose open requests were swept already).
            _recheck_before_insert(actor=actor, visit=visit, account_id=connection.account_id)
            try:
                pr.save(force_insert=True)
            except IntegrityError:
                # Its reference was taken in the instant since _free_reference looked (the
                # reference is in the intent's metadata already, so no other one is tried).
                raise ServiceError(
                    _("The payment could not be saved: nothing was charged. Try again.")
                ) from None
            audit_record(
                action=PaymentAction.PAYMENT_REQUESTED,
                actor=actor,
                clinic=clinic,
                target=f"payment:{pr.pk}",
                summary=f"Requested {amount_format(amount, currency)} from "
                f"{payer.display_name}: {description} ({pr.reference})",
            )
            announce(pr)
    except Exception:
        if committed:
            # Saved: the intent is the request's and must stay payable. What failed came after
            # the commit (a live event, an email): logged, never the clinician's error.
            logger.exception("payment request %s saved; an after-commit step failed", pr.pk)
            return pr
        # Nothing was saved (refused by a re-check, the reference taken, the database): the
        # intent has no request and nobody has its client secret, so it is cancelled.
        _cancel_orphan_intent(pr)
        raise
    return pr


def _recheck_before_insert(*, actor: User, visit: Visit, account_id: str) -> None:
    """Inside the insert's transaction: the call is still on, the clinician still in it, and
    the account the intent was made on is still the clinic's. Raises ServiceError otherwise."""
    locked = Visit.objects.select_for_update(of=("self",)).get(pk=visit.pk)
    if locked.status == VisitStatus.DONE:
        raise ServiceError(
            _("The call ended while the payment was being set up: nothing was charged.")
        )
    if not _is_clinician_in_call(actor, locked):
        raise ServiceError(
            _("You left the call while the payment was being set up: nothing was charged.")
        )
    current = _connection_lock(locked.clinic_id)
    if current is None or current.account_id != account_id:
        raise ServiceError(
            _(
                "The clinic's Stripe account was changed or removed while the payment was being "
                "set up: nothing was charged."
            )
        )


def _free_reference() -> str:
    """A reference no request has yet (it goes into the intent's metadata before the insert;
    the unique index still refuses one taken in between)."""
    for _attempt in range(10):
        reference = _new_reference()
        if not PaymentRequest.objects.filter(reference=reference).exists():
            return reference
    return _new_reference()


def _cancel_orphan_intent(pr: PaymentRequest) -> None:
    """The request could not be saved after Stripe made its intent: cancel that intent (nobody
    has its client secret, so it cannot be paid; this only tidies the clinic's dashboard)."""
    try:
        get_gateway().intent_cancel(
            account_id=pr.stripe_account_id,
            intent_id=pr.payment_intent_id or "",
            idempotency_key=f"{pr.pk}:cancel",
        )
    except PaymentGatewayError as error:
        logger.warning("could not cancel orphan intent %s: %s", pr.payment_intent_id, error)


def _descriptor_suffix(clinic: Clinic) -> str:
    """Up to 22 Latin letters, digits and spaces shown on the card statement."""
    cleaned = "".join(c for c in clinic.name.upper() if c.isascii() and (c.isalnum() or c == " "))
    return " ".join(cleaned.split())[:22]


def payment_request_cancel(*, actor: User, payment_request: PaymentRequest) -> PaymentRequest:
    clinic_for_user(actor, payment_request.clinic_id)
    _clinician_in_call_or_manager(actor, payment_request)
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
    _cancel_locally(pr.pk, _("Cancelled by %(name)s.") % {"name": name}, actor)
    pr.refresh_from_db()
    return pr


def _clinician_in_call_or_manager(actor: User, pr: PaymentRequest) -> None:
    access = clinic_for_user(actor, pr.clinic_id)
    if access.can_manage:
        return
    _clinician_in_call(actor, pr.visit)


def payment_request_set_email(*, payment_request: PaymentRequest, email: str) -> PaymentRequest:
    """The payer gives an email for the receipt, just before paying."""
    email = email.strip().lower()
    # Django's validator takes up to 320 characters; the column holds 254 (on PostgreSQL a
    # longer one failed the UPDATE with a 500, after Stripe had already been given it).
    longest = PaymentRequest._meta.get_field("receipt_email").max_length or 254
    try:
        if len(email) > longest:
            raise ValueError(email)
        validate_email(email)
    except Exception:
        raise ServiceError(
            _("Enter a valid email address for your receipt."), field="email"
        ) from None
    pr = _payable(payment_request)
    if pr.receipt_email != email and pr.payment_intent_id:
        # A key per change: going back to an earlier address must reach Stripe again.
        get_gateway().intent_set_receipt_email(
            account_id=pr.stripe_account_id,
            intent_id=pr.payment_intent_id,
            email=email,
            idempotency_key=f"{pr.pk}:email:{uuid.uuid4().hex}",
        )
    PaymentRequest.objects.filter(pk=pr.pk).update(receipt_email=email, updated_at=timezone.now())
    pr.refresh_from_db()
    return pr


def _payable(pr: PaymentRequest) -> PaymentRequest:
    pr.refresh_from_db()
    if pr.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED):
        raise ServiceError(_("This payment has been made already."))
    if pr.status == PaymentStatus.CANCELLED:
        raise ServiceError(
            _("This payment request was cancelled: %(reason)s") % {"reason": pr.cancel_reason}
        )
    if pr.status == PaymentStatus.EXPIRED or pr.expires_at <= timezone.now():
        payment_request_expire(payment_request=pr)
        raise ServiceError(_("This payment request has expired. Contact the clinic."))
    return pr


def payment_request_for_payer(*, payment_request: PaymentRequest) -> PaymentRequest:
    """What the payer's page may open: the request, when it can still be paid."""
    return _payable(payment_request)


def payment_request_expire(*, payment_request: PaymentRequest) -> bool:
    """Expire an overdue unpaid request, after asking Stripe: money it took is never expired."""
    if payment_request.payment_intent_id:
        try:
            intent = get_gateway().intent_retrieve(
                account_id=payment_request.stripe_account_id,
                intent_id=payment_request.payment_intent_id,
            )
        except PaymentGatewayError as error:
            logger.warning("not expiring %s yet: %s", payment_request.pk, error.message)
            return False
        if intent.status in ("succeeded", "processing"):
            payment_request_apply_intent(payment_request=payment_request, intent=intent)
            return False
    with transaction.atomic():
        pr = (
            PaymentRequest.objects.select_for_update(of=("self",))
            .select_related("clinic")
            .get(pk=payment_request.pk)
        )
        if pr.status not in OPEN_STATUSES or pr.expires_at > timezone.now():
            return False
        pr.status = PaymentStatus.EXPIRED
        pr.save(update_fields=["status", "updated_at"])
        audit_record(
            action=PaymentAction.PAYMENT_EXPIRED,
            actor=None,
            actor_label="CareCall",
            clinic=pr.clinic,
            target=f"payment:{pr.pk}",
            summary=f"Expired unpaid {amount_format(pr.amount, pr.currency)} ({pr.reference}): "
            "the payment link ran out",
        )
        announce(pr)
    if pr.payment_intent_id:
        try:
            get_gateway().intent_cancel(
                account_id=pr.stripe_account_id,
                intent_id=pr.payment_intent_id,
                idempotency_key=f"{pr.pk}:cancel",
            )
        except PaymentGatewayError as error:
            logger.warning("could not cancel expired %s: %s", pr.payment_intent_id, error.message)
    return True


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
        announce(pr)
    return pr


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


def payment_request_reconcile(*, payment_request: PaymentRequest) -> PaymentRequest:
    """Ask Stripe for the PaymentIntent and apply what it says (the patient's page reported, or
    the reconcile command found the request stuck)."""
    if not payment_request.payment_intent_id:
        return payment_request
    intent = get_gateway().intent_retrieve(
        account_id=payment_request.stripe_account_id, intent_id=payment_request.payment_intent_id
    )
    return payment_request_apply_intent(payment_request=payment_request, intent=intent)


def payments_reconcile(*, older_than: timedelta = timedelta(minutes=3)) -> dict[str, int]:
    """Re-read from Stripe every request stuck unpaid for a while; expire overdue ones; ask
    again about pending refunds; send the outbox emails that are due. (Stored webhook events
    are the workers' job: `payments/webhooks.py`.)"""
    counts = {"checked": 0, "changed": 0, "expired": 0, "errors": 0, "refunds": 0}
    cutoff = timezone.now() - older_than
    counts["emails"] = 0
    # One broken request, refund, event or email must not stop the others, nor the later steps
    # (which would then never run again): each is logged, counted as an error, and passed by.
    stuck = PaymentRequest.objects.filter(status__in=OPEN_STATUSES, updated_at__lte=cutoff)
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
    # saved (payments/reconcile.py).
    from carecall.payments import reconcile
    from carecall.payments.refunds import refunds_resume_unsent

    for name, step in (
        ("refunds_resumed", refunds_resume_unsent),
        ("refunds_synced", reconcile.refunds_recent_sync),
        ("orphans_cancelled", reconcile.intents_orphaned_cancel),
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
    from carecall.payments.models import Refund, RefundStatus
    from carecall.payments.refunds import refund_apply_result

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
