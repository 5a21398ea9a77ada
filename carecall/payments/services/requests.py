"""Payment requests in calls: made by a clinician, given a receipt email and paid by the payer,
expired when the link runs out."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.audit.services import audit_record
from carecall.calls.models import Participant, ParticipantKind, Visit, VisitStatus
from carecall.core.currencies import amount_format, amount_parse
from carecall.core.errors import ServiceError
from carecall.core.text import text_refuse_control
from carecall.orgs.models import Clinic
from carecall.payments.access import clinician_in_call, clinician_in_call_require
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.clinic_settings import payment_max_minor
from carecall.payments.gateway import PaymentGatewayError, get_gateway
from carecall.payments.models import OPEN_STATUSES, PaymentRequest, PaymentStatus, StripeConnection
from carecall.payments.services.announce import payment_request_announce
from carecall.payments.services.connection import connection_lock, payment_gateway_require
from carecall.payments.services.intents import payment_request_apply_intent

logger = logging.getLogger(__name__)


DESCRIPTION_MAX = 200
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out on the phone


def _new_reference() -> str:
    return "CC-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


def payment_request_create(
    *,
    actor: User,
    visit: Visit,
    amount_text: str,
    description: str,
    payer_id: str | None = None,
) -> PaymentRequest:
    """A clinician asks for a payment in the call; its PaymentIntent is on the clinic's account."""
    clinician_in_call_require(actor, visit)
    clinic = visit.clinic
    if visit.status == VisitStatus.DONE:
        raise ServiceError(_("This call has ended."))
    payment_gateway_require(clinic)
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
            payment_request_announce(pr)
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
    if not clinician_in_call(actor, locked):
        raise ServiceError(
            _("You left the call while the payment was being set up: nothing was charged.")
        )
    current = connection_lock(locked.clinic_id)
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


def payment_request_overdue(pr: PaymentRequest) -> bool:
    """Expired, or still open past its time (the reconcile job, or the next POST, records it)."""
    return pr.status == PaymentStatus.EXPIRED or (
        pr.status in OPEN_STATUSES and pr.expires_at <= timezone.now()
    )


def _refuse_unpayable(pr: PaymentRequest) -> None:
    if pr.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED):
        raise ServiceError(_("This payment has been made already."))
    if pr.status == PaymentStatus.CANCELLED:
        raise ServiceError(
            _("This payment request was cancelled: %(reason)s") % {"reason": pr.cancel_reason}
        )
    if payment_request_overdue(pr):
        raise ServiceError(_("This payment request has expired. Contact the clinic."))


def _payable(pr: PaymentRequest) -> PaymentRequest:
    """For the payer's POSTs: an overdue request is expired here and now (after asking Stripe
    whether it took money) before it is refused."""
    pr.refresh_from_db()
    try:
        _refuse_unpayable(pr)
    except ServiceError:
        if payment_request_overdue(pr):
            payment_request_expire(payment_request=pr)
        raise
    return pr


def payment_request_for_payer(*, payment_request: PaymentRequest) -> PaymentRequest:
    """What the payer's page may open (a GET: it reads, never writes or calls Stripe): the
    request when it can still be paid, else ServiceError with the reason. An overdue request is
    refused as expired and left for the reconcile job (or the payer's next POST) to record."""
    payment_request.refresh_from_db()
    _refuse_unpayable(payment_request)
    return payment_request


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
        payment_request_announce(pr)
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
