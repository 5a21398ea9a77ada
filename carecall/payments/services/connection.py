"""The clinic's Stripe connection: Connect OAuth, change, removal, and Stripe's deauthorization."""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.audit.services import audit_record
from carecall.clinic_apps.models import AppKey
from carecall.clinic_apps.selectors import clinic_app_is_enabled
from carecall.core.currencies import CURRENCIES
from carecall.core.errors import ServiceError
from carecall.orgs.access import MANAGERS, clinic_for_user
from carecall.orgs.models import Clinic
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.gateway import PaymentGatewayError, get_gateway
from carecall.payments.models import StripeConnection
from carecall.payments.services.cancellation import payment_requests_cancel_open

logger = logging.getLogger(__name__)


def payment_gateway_require(clinic: Clinic) -> None:
    if not clinic_app_is_enabled(clinic, AppKey.PAYMENT_GATEWAY):
        raise ServiceError(
            _("The Payment Gateway app is not enabled for %(clinic)s yet. Request it under Apps.")
            % {"clinic": clinic.name}
        )


def connection_start(*, actor: User, clinic: Clinic, redirect_uri: str) -> tuple[str, str]:
    """Begin Connect OAuth. Returns (state to keep in the session, Stripe's authorize URL)."""
    clinic_for_user(actor, clinic.pk, roles=MANAGERS)
    payment_gateway_require(clinic)
    if not settings.STRIPE_CONNECT_CLIENT_ID:
        raise ServiceError(_("Stripe Connect is not configured on this server."))
    state = secrets.token_urlsafe(32)
    url = get_gateway().oauth_authorize_url(
        state=state, redirect_uri=redirect_uri, email=clinic.contact_email
    )
    return state, url


def connection_complete(*, actor: User, clinic: Clinic, code: str) -> StripeConnection:
    """Finish Connect OAuth: store the account (replacing an earlier one) and its details."""
    clinic_for_user(actor, clinic.pk, roles=MANAGERS)
    payment_gateway_require(clinic)
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
        previous = connection_lock(clinic.pk)
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
        payment_requests_cancel_open(
            clinic_id=clinic.pk,
            account_id=previous.account_id,
            reason=_("The clinic changed its Stripe account."),
            at_stripe=True,
        )
    return connection


def connection_lock(clinic_id: int) -> StripeConnection | None:
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
    payment_requests_cancel_open(
        clinic_id=clinic.pk, account_id=connection.account_id, reason=reason, at_stripe=True
    )
    get_gateway().oauth_deauthorize(account_id=connection.account_id)
    with transaction.atomic():
        current = connection_lock(clinic.pk)
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
        payment_requests_cancel_open(
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
        payment_requests_cancel_open(
            clinic_id=swept_clinic,
            account_id=account_id,
            reason=_("The clinic's Stripe account was disconnected."),
            at_stripe=False,  # we no longer have access to it
        )
    return forgot
