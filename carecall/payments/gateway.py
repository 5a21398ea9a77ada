"""The narrow interface CareCall uses to talk to its payment provider (Stripe).

Everything else in CareCall depends on this module, never on `stripe` itself; the one
implementation is `stripe_gateway.StripeGateway`. Amounts are integers in minor units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class PaymentGatewayError(Exception):
    """Anything that went wrong talking to the provider, in words a person can act on.

    `retryable` says whether trying again later may work (network trouble, rate limits, 5xx);
    `code` / `decline_code` carry the provider's codes for card errors.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        code: str | None = None,
        decline_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code
        self.decline_code = decline_code


@dataclass(frozen=True)
class ConnectedAccount:
    id: str
    name: str
    email: str
    country: str
    default_currency: str  # upper case, e.g. "AUD"
    charges_enabled: bool
    payouts_enabled: bool


@dataclass(frozen=True)
class Intent:
    id: str
    status: str  # Stripe's PaymentIntent status
    amount: int
    currency: str  # upper case
    client_secret: str
    receipt_email: str | None = None
    created: int = 0
    card_brand: str = ""
    card_last4: str = ""
    failure_message: str = ""
    amount_refunded: int = 0
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    id: str
    amount: int
    status: str  # pending / succeeded / failed / canceled
    failure_reason: str = ""
    payment_intent: str = ""
    created: int = 0


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    account: str | None
    created: int
    object: dict[str, Any]
    body: str = ""  # the raw body as Stripe sent it (what the inbox stores)


class PaymentGateway(Protocol):
    def oauth_authorize_url(self, *, state: str, redirect_uri: str, email: str = "") -> str: ...

    def oauth_complete(self, *, code: str) -> str:
        """Exchange an OAuth code for the connected account's id."""
        ...

    def oauth_deauthorize(self, *, account_id: str) -> None: ...

    def account_retrieve(self, *, account_id: str) -> ConnectedAccount: ...

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
    ) -> Intent: ...

    def intent_retrieve(self, *, account_id: str, intent_id: str) -> Intent: ...

    def intent_set_receipt_email(
        self, *, account_id: str, intent_id: str, email: str, idempotency_key: str
    ) -> Intent: ...

    def intent_cancel(self, *, account_id: str, intent_id: str, idempotency_key: str) -> Intent: ...

    def refund_create(
        self, *, account_id: str, intent_id: str, amount: int, reason: str, idempotency_key: str
    ) -> RefundResult: ...

    def refund_retrieve(self, *, account_id: str, refund_id: str) -> RefundResult: ...

    def intents_list(
        self, *, account_id: str, created_gte: int, created_lte: int, limit: int
    ) -> list[Intent]:
        """The account's PaymentIntents created in [created_gte, created_lte], newest first, at
        most `limit` (all pages)."""
        ...

    def refunds_list(self, *, account_id: str, created_gte: int, limit: int) -> list[RefundResult]:
        """The account's refunds created since `created_gte`, newest first, at most `limit`."""
        ...

    def webhook_event(self, *, payload: bytes, signature: str) -> WebhookEvent:
        """Verify the signature on the raw body and parse the event; raises on a bad one."""
        ...


def get_gateway() -> PaymentGateway:
    from carecall.payments.stripe_gateway import StripeGateway

    return StripeGateway()
