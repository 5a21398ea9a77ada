"""Where CareCall's "Open in the Stripe dashboard" links go.

Stripe's Dashboard (`STRIPE_DASHBOARD_URL`, default https://dashboard.stripe.com) in production.
When the API is not Stripe's (`STRIPE_API_BASE` is stripe_sandbox, in the demo and the tests)
and no other dashboard is configured, Stripe's Dashboard would not know the objects: the links
open the sandbox's own dashboard pages (`<sandbox>/dashboard/...`, stripe_sandbox/README.md).
"""

from __future__ import annotations

from django.conf import settings

STRIPE_API = "https://api.stripe.com"
STRIPE_DASHBOARD = "https://dashboard.stripe.com"


def dashboard_base() -> str:
    configured = str(settings.STRIPE_DASHBOARD_URL).rstrip("/")
    api = str(settings.STRIPE_API_BASE).rstrip("/")
    if configured == STRIPE_DASHBOARD and api != STRIPE_API:
        return f"{api}/dashboard"
    return configured


def account_payments_url(account_id: str) -> str:
    """The connected account's payments list."""
    return f"{dashboard_base()}/{account_id}/payments"


def payment_url(account_id: str, payment_intent_id: str) -> str:
    """One payment (its PaymentIntent) in the connected account's dashboard."""
    return f"{dashboard_base()}/{account_id}/payments/{payment_intent_id}"
