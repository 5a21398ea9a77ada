"""API keys and `Stripe-Account`: who is calling, and which account's objects they act on."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from .errors import StripeError, masked
from .state import PLATFORM_ACCOUNT_ID, State


@dataclass(frozen=True)
class Caller:
    key: str
    kind: str  # "secret" | "publishable"
    account: str  # the partition the request acts in


def _key_from(authorization: str | None) -> str:
    if not authorization:
        raise StripeError(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or "
            "we can help at https://support.stripe.com/.",
            status=401,
        )
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        # `curl -u sk_test_…:` sends the key as the Basic user name
        try:
            return base64.b64decode(value).decode().split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            pass
    raise StripeError("Invalid API Key provided: " + masked(value or authorization), status=401)


def authenticate(state: State, authorization: str | None, stripe_account: str | None) -> Caller:
    """Raise Stripe's 401 for a bad key and 403 for an account the key may not act on."""
    key = _key_from(authorization)
    if key.startswith("sk_test_") and len(key) > len("sk_test_"):
        kind = "secret"
        token = state.access_tokens.get(key)
        if token is not None and token["revoked"]:
            raise StripeError(f"Expired API Key provided: {masked(key)}", status=401)
        # An OAuth access token is the connected account's own secret key.
        own = token["account"] if token else PLATFORM_ACCOUNT_ID
    elif key.startswith("pk_test_") and len(key) > len("pk_test_"):
        kind = "publishable"
        own = state.account_for_publishable_key(key)
    else:
        # sk_live_/pk_live_ and anything else: this sandbox is test mode only.
        raise StripeError(f"Invalid API Key provided: {masked(key)}", status=401)
    if not stripe_account or stripe_account == own:
        return Caller(key, kind, own)
    if own == PLATFORM_ACCOUNT_ID and state.is_connected(stripe_account):
        return Caller(key, kind, stripe_account)
    if own != PLATFORM_ACCOUNT_ID:
        raise StripeError(
            "Only Stripe Connect platforms can work with other accounts. If you specified a "
            "client_id parameter, make sure it's correct. If you need to setup a Stripe Connect "
            "platform, you can do so at https://dashboard.stripe.com/account/applications/settings.",
            status=403,
        )
    raise StripeError(
        f"The provided key '{masked(key)}' does not have access to account '{stripe_account}' "
        "(or that account does not exist). Application access may have been revoked.",
        status=403,
        code="account_invalid",
    )
