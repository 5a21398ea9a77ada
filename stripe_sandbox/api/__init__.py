"""The Stripe API subset: every route the sandbox answers under /v1."""

from __future__ import annotations

from . import accounts, charges, events, payment_intents, payment_methods, refunds
from .common import Route

ROUTES: list[Route] = [
    *payment_intents.ROUTES,
    *payment_methods.ROUTES,
    *charges.ROUTES,
    *refunds.ROUTES,
    *accounts.ROUTES,
    *events.ROUTES,
]
