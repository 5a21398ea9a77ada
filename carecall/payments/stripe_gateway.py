"""The only module that imports `stripe`. Maps Stripe's objects and errors onto gateway.py."""

from __future__ import annotations

import logging
import os
import threading
import time
from itertools import islice
from typing import Any
from urllib.parse import urlencode

import stripe
from django.conf import settings
from django.db import connections
from django.utils.translation import gettext as _
from stripe import oauth_error

from carecall.payments.gateway import (
    ConnectedAccount,
    Intent,
    PaymentGatewayError,
    RefundResult,
    WebhookEvent,
)
from carecall.payments.webhook_body import (
    webhook_body_text,
    webhook_event_parse,
    webhook_signature_timestamp,
)

logger = logging.getLogger(__name__)

# Stripe's API version our requests and the sandbox's answers follow.
API_VERSION = "2023-08-16"


class StripeCalledInTransaction(RuntimeError):
    """A Stripe call was made while a database transaction was open (a bug: see
    `_outside_transactions`)."""


def _outside_transactions() -> None:
    """Stripe can take ~30 s to answer; a call made inside `transaction.atomic` keeps that
    transaction's locks all along (on SQLite the one write lock of every clinic). Services call
    Stripe first and take their locks after. `STRIPE_CALLS_IN_TRANSACTION` says what a call
    made inside one does: "raise" (the tests) or "log" (the default: the call still goes)."""
    open_on = [
        conn.alias
        for conn in connections.all(initialized_only=True)
        # The test case's own transactions (Django's TestCase wraps every test in two) are
        # not the code's: Django tells them apart the same way for `atomic(durable=True)`.
        if any(not getattr(block, "_from_testcase", False) for block in conn.atomic_blocks)
    ]
    if not open_on:
        return
    message = f"Stripe called inside a database transaction (on {', '.join(open_on)})"
    if getattr(settings, "STRIPE_CALLS_IN_TRANSACTION", "log") == "raise":
        raise StripeCalledInTransaction(message)
    logger.error(message, stack_info=True)


# One StripeClient per process and configuration: the SDK's requests-based HTTP client keeps a
# `requests.Session` (a keep-alive connection pool) per thread, so calls reuse their
# connections instead of opening one (and a TLS handshake) each. Keyed by everything the client
# is built from, so tests that point the settings elsewhere get a client of their own.
_MAX_CLIENTS = 8
_clients: dict[tuple[Any, ...], stripe.StripeClient] = {}
_clients_lock = threading.Lock()


def _forget_clients() -> None:
    """After a fork: the parent's connections are not the child's to use."""
    global _clients_lock
    _clients_lock = threading.Lock()
    _clients.clear()


os.register_at_fork(after_in_child=_forget_clients)


def _client() -> stripe.StripeClient:
    _outside_transactions()
    if not settings.STRIPE_SECRET_KEY:
        raise PaymentGatewayError(_("Payments are not configured on this server (no Stripe key)."))
    key = (
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_CONNECT_CLIENT_ID,
        settings.STRIPE_API_BASE,
        settings.STRIPE_CONNECT_BASE,
        settings.STRIPE_MAX_NETWORK_RETRIES,
        settings.STRIPE_TIMEOUT_SECONDS,
    )
    client = _clients.get(key)
    if client is not None:
        return client
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = stripe.StripeClient(
                settings.STRIPE_SECRET_KEY,
                client_id=settings.STRIPE_CONNECT_CLIENT_ID or None,
                stripe_version=API_VERSION,
                base_addresses={
                    "api": settings.STRIPE_API_BASE,
                    "connect": settings.STRIPE_CONNECT_BASE,
                },
                max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
                http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
            )
            while len(_clients) >= _MAX_CLIENTS:
                _clients.pop(next(iter(_clients)))
            _clients[key] = client
    return client


def _translate(error: stripe.StripeError) -> PaymentGatewayError:
    if isinstance(error, stripe.CardError):
        return PaymentGatewayError(
            error.user_message or str(error),
            code=error.code,
            decline_code=getattr(error, "decline_code", None) or None,
        )
    if isinstance(error, stripe.RateLimitError):
        return PaymentGatewayError(_("Stripe is busy. Try again in a moment."), retryable=True)
    if isinstance(error, stripe.APIConnectionError):
        return PaymentGatewayError(
            _("Stripe cannot be reached. Try again in a moment."), retryable=True
        )
    if isinstance(error, stripe.AuthenticationError):
        return PaymentGatewayError(_("The platform's Stripe key was refused."))
    if isinstance(error, stripe.PermissionError):
        return PaymentGatewayError(
            _("The clinic's Stripe account is no longer connected."), code="account_invalid"
        )
    if isinstance(error, oauth_error.OAuthError):
        return PaymentGatewayError(
            _("Stripe did not accept the connection: %(reason)s")
            % {"reason": error.user_message or error.code},
            code=str(error.code),
        )
    if isinstance(error, stripe.APIError) or (error.http_status or 0) >= 500:
        return PaymentGatewayError(
            _("Stripe had a problem. Try again in a moment."), retryable=True
        )
    return PaymentGatewayError(error.user_message or str(error), code=error.code)


def _plain(obj: Any) -> dict[str, Any]:
    """Stripe objects are not dicts since v13; read them as plain (recursive) dicts."""
    if hasattr(obj, "to_dict"):
        return dict(obj.to_dict())
    return dict(obj)


def _intent(obj: Any) -> Intent:
    pi = _plain(obj)
    charge = pi.get("latest_charge")
    card: dict[str, Any] = {}
    refunded = 0
    if isinstance(charge, dict):
        card = (charge.get("payment_method_details") or {}).get("card") or {}
        refunded = int(charge.get("amount_refunded") or 0)
    error = pi.get("last_payment_error") or {}
    return Intent(
        id=pi["id"],
        status=pi["status"],
        amount=int(pi["amount"]),
        currency=str(pi["currency"]).upper(),
        client_secret=pi.get("client_secret") or "",
        receipt_email=pi.get("receipt_email"),
        card_brand=str(card.get("brand") or ""),
        card_last4=str(card.get("last4") or ""),
        failure_message=(error.get("message") or "") if error else "",
        amount_refunded=refunded,
        metadata=dict(pi.get("metadata") or {}),
        created=int(pi.get("created") or 0),
    )


def _refund(obj: Any) -> RefundResult:
    refund = _plain(obj)
    return RefundResult(
        id=str(refund["id"]),
        amount=int(refund["amount"]),
        status=str(refund.get("status") or "pending"),
        failure_reason=str(refund.get("failure_reason") or ""),
        payment_intent=str(refund.get("payment_intent") or ""),
        created=int(refund.get("created") or 0),
    )


class StripeGateway:
    def oauth_authorize_url(self, *, state: str, redirect_uri: str, email: str = "") -> str:
        query = {
            "response_type": "code",
            "client_id": settings.STRIPE_CONNECT_CLIENT_ID,
            "scope": "read_write",
            "state": state,
            "redirect_uri": redirect_uri,
        }
        if email:
            query["stripe_user[email]"] = email
        return f"{settings.STRIPE_CONNECT_BASE}/oauth/authorize?{urlencode(query)}"

    def oauth_complete(self, *, code: str) -> str:
        try:
            response = _client().oauth.token({"grant_type": "authorization_code", "code": code})
        except stripe.StripeError as error:
            raise _translate(error) from error
        return str(_plain(response)["stripe_user_id"])

    def oauth_deauthorize(self, *, account_id: str) -> None:
        try:
            _client().oauth.deauthorize(
                {"client_id": settings.STRIPE_CONNECT_CLIENT_ID, "stripe_user_id": account_id}
            )
        except oauth_error.InvalidClientError:
            return  # already disconnected from Stripe's side: the outcome we wanted
        except stripe.StripeError as error:
            raise _translate(error) from error

    def account_retrieve(self, *, account_id: str) -> ConnectedAccount:
        try:
            account = _plain(_client().v1.accounts.retrieve(account_id))
        except stripe.StripeError as error:
            raise _translate(error) from error
        profile = account.get("business_profile") or {}
        settings_dashboard = (account.get("settings") or {}).get("dashboard") or {}
        name = profile.get("name") or settings_dashboard.get("display_name") or account_id
        return ConnectedAccount(
            id=account["id"],
            name=str(name),
            email=str(account.get("email") or ""),
            country=str(account.get("country") or ""),
            default_currency=str(account.get("default_currency") or "").upper(),
            charges_enabled=bool(account.get("charges_enabled")),
            payouts_enabled=bool(account.get("payouts_enabled")),
        )

    def intent_create(
        self,
        *,
        account_id: str,
        amount: int,
        currency: str,
        description: str,
        metadata: dict[str, str],
        statement_descriptor_suffix: str,
        idempotency_key: str,
    ) -> Intent:
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency.lower(),
            "description": description,
            "metadata": metadata,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
        if statement_descriptor_suffix:
            params["statement_descriptor_suffix"] = statement_descriptor_suffix
        try:
            pi = _client().v1.payment_intents.create(
                params,  # type: ignore[arg-type]
                {"stripe_account": account_id, "idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return _intent(pi)

    def intent_retrieve(self, *, account_id: str, intent_id: str) -> Intent:
        try:
            pi = _client().v1.payment_intents.retrieve(
                intent_id, {"expand": ["latest_charge"]}, {"stripe_account": account_id}
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return _intent(pi)

    def intent_set_receipt_email(
        self, *, account_id: str, intent_id: str, email: str, idempotency_key: str
    ) -> Intent:
        try:
            pi = _client().v1.payment_intents.update(
                intent_id,
                # Stripe emails its own receipt (live mode) when receipt_email is set.
                {"receipt_email": email}
                if settings.STRIPE_SENDS_RECEIPTS
                else {"metadata": {"receipt_email": email}},
                {"stripe_account": account_id, "idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return _intent(pi)

    def intent_cancel(self, *, account_id: str, intent_id: str, idempotency_key: str) -> Intent:
        try:
            pi = _client().v1.payment_intents.cancel(
                intent_id,
                {"cancellation_reason": "requested_by_customer"},
                {"stripe_account": account_id, "idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return _intent(pi)

    def refund_create(
        self, *, account_id: str, intent_id: str, amount: int, reason: str, idempotency_key: str
    ) -> RefundResult:
        try:
            refund = _client().v1.refunds.create(
                {"payment_intent": intent_id, "amount": amount, "reason": reason},  # type: ignore[typeddict-item,unused-ignore]
                {"stripe_account": account_id, "idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return _refund(refund)

    def refund_retrieve(self, *, account_id: str, refund_id: str) -> RefundResult:
        try:
            refund = _client().v1.refunds.retrieve(
                refund_id, options={"stripe_account": account_id}
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return _refund(refund)

    def intents_list(
        self, *, account_id: str, created_gte: int, created_lte: int, limit: int
    ) -> list[Intent]:
        try:
            pages = _client().v1.payment_intents.list(
                {"created": {"gte": created_gte, "lte": created_lte}, "limit": 100},
                {"stripe_account": account_id},
            )
            return [_intent(pi) for pi in islice(pages.auto_paging_iter(), limit)]
        except stripe.StripeError as error:
            raise _translate(error) from error

    def refunds_list(self, *, account_id: str, created_gte: int, limit: int) -> list[RefundResult]:
        try:
            pages = _client().v1.refunds.list(
                {"created": {"gte": created_gte}, "limit": 100}, {"stripe_account": account_id}
            )
            return [_refund(refund) for refund in islice(pages.auto_paging_iter(), limit)]
        except stripe.StripeError as error:
            raise _translate(error) from error

    def webhook_event(self, *, payload: bytes, signature: str) -> WebhookEvent:
        """Stripe's own check of the signature (HMAC of "t.body", at most
        WEBHOOK_SIGNATURE_TOLERANCE_SECONDS old), plus one the SDK lacks: a timestamp more than
        WEBHOOK_SIGNATURE_FUTURE_SKEW_SECONDS ahead of our clock is refused too. Then the body
        is read by `webhook_event_parse` (no `stripe.Event` is built: the inbox keeps the raw
        body and the workers read it)."""
        if not settings.STRIPE_WEBHOOK_SECRET:
            raise PaymentGatewayError(_("Webhooks are not configured (no STRIPE_WEBHOOK_SECRET)."))
        text = webhook_body_text(payload)  # Stripe signs the text: a body that is not UTF-8
        try:
            stripe.WebhookSignature.verify_header(
                text,
                signature,
                settings.STRIPE_WEBHOOK_SECRET,
                tolerance=settings.WEBHOOK_SIGNATURE_TOLERANCE_SECONDS,
            )
        except (ValueError, stripe.SignatureVerificationError) as error:
            raise PaymentGatewayError(f"bad webhook: {error}") from error
        signed_at = webhook_signature_timestamp(signature)
        if signed_at > time.time() + settings.WEBHOOK_SIGNATURE_FUTURE_SKEW_SECONDS:
            raise PaymentGatewayError(
                _("bad webhook: the signature's timestamp is in the future (%(t)d)")
                % {"t": signed_at}
            )
        return webhook_event_parse(text)
