"""PaymentMethods (cards only): create from card details or a `pm_card_*` test id, retrieve."""

from __future__ import annotations

import datetime
import hashlib
import time
from typing import Any

from ..cards import TEST_PAYMENT_METHODS, card_for, luhn_ok
from ..errors import StripeError, resource_missing
from ..ids import new_id
from ..params import E, I, M, O, S
from ..state import Obj
from .common import ApiContext, Route, render, route

ADDRESS = O(city=S(), country=S(), line1=S(), line2=S(), postal_code=S(), state=S())
BILLING_DETAILS = O(address=ADDRESS, email=S(), name=S(), phone=S())

CREATE = {
    "type": E("card"),
    "card": O(number=S(), exp_month=I(), exp_year=I(), cvc=S()),
    "billing_details": BILLING_DETAILS,
    "metadata": M(),
}


def _card_error(message: str, code: str, param: str) -> StripeError:
    return StripeError(message, status=402, type="card_error", code=code, param=param)


def _check_card(card: dict[str, Any]) -> None:
    """The checks Stripe makes when card details arrive, before any charge is attempted."""
    for name in ("number", "exp_month", "exp_year"):
        if name not in card:
            raise StripeError(
                f"Missing required param: card[{name}].",
                code="parameter_missing",
                param=f"card[{name}]",
            )
    number = card["number"].replace(" ", "")
    if not luhn_ok(number):
        raise _card_error("Your card number is incorrect.", "incorrect_number", "card[number]")
    if not 1 <= card["exp_month"] <= 12:
        raise _card_error(
            "Your card's expiration month is invalid.", "invalid_expiry_month", "card[exp_month]"
        )
    year = card["exp_year"] + 2000 if card["exp_year"] < 100 else card["exp_year"]
    today = datetime.date.today()
    if year < today.year or year > today.year + 50:
        raise _card_error(
            "Your card's expiration year is invalid.", "invalid_expiry_year", "card[exp_year]"
        )
    if (year, card["exp_month"]) < (today.year, today.month):
        raise _card_error(
            "Your card's expiration month is invalid.", "invalid_expiry_month", "card[exp_month]"
        )
    cvc = card.get("cvc")
    if cvc is not None and not (cvc.isdigit() and len(cvc) in (3, 4)):
        raise _card_error("Your card's security code is invalid.", "invalid_cvc", "card[cvc]")


def build_payment_method(
    ctx: ApiContext,
    number: str,
    exp_month: int,
    exp_year: int,
    billing_details: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
) -> Obj:
    card = card_for(number)
    bd = billing_details or {}
    address = bd.get("address", {})
    pm: Obj = {
        "id": new_id("pm"),
        "object": "payment_method",
        "billing_details": {
            "address": {
                k: address.get(k)
                for k in ("city", "country", "line1", "line2", "postal_code", "state")
            },
            "email": bd.get("email"),
            "name": bd.get("name"),
            "phone": bd.get("phone"),
        },
        "card": {
            "brand": card.brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": "pass" if address.get("postal_code") else None,
                "cvc_check": "pass",
            },
            "country": card.country,
            "exp_month": exp_month,
            "exp_year": exp_year if exp_year >= 100 else exp_year + 2000,
            # Stripe's fingerprint identifies a card number across objects without revealing it
            "fingerprint": hashlib.sha256(number.encode()).hexdigest()[:16],
            "funding": card.funding,
            "generated_from": None,
            "last4": number[-4:],
            "networks": {"available": [card.brand], "preferred": None},
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": int(time.time()),
        "customer": None,
        "livemode": False,
        "metadata": metadata or {},
        "type": "card",
    }
    ctx.state.pm_cards[pm["id"]] = number
    return ctx.state.put(ctx.account, pm)


def from_test_id(ctx: ApiContext, test_id: str) -> Obj:
    """`pm_card_visa` & co. stand for a fresh PaymentMethod of that card, as on Stripe."""
    year = datetime.date.today().year + 3
    return build_payment_method(ctx, TEST_PAYMENT_METHODS[test_id], 12, year)


def resolve(ctx: ApiContext, pm_id: str, param: str = "payment_method") -> Obj:
    if pm_id in TEST_PAYMENT_METHODS:
        return from_test_id(ctx, pm_id)
    pm = ctx.state.get(ctx.account, pm_id, "payment_method")
    if pm is None:
        raise resource_missing("PaymentMethod", pm_id, param)
    return pm


def create(ctx: ApiContext, params: dict[str, Any], _: dict[str, str]) -> Obj:
    if "type" not in params:
        raise StripeError("Missing required param: type.", code="parameter_missing", param="type")
    card = params.get("card")
    if card is None:
        raise StripeError("Missing required param: card.", code="parameter_missing", param="card")
    _check_card(card)
    pm = build_payment_method(
        ctx,
        card["number"].replace(" ", ""),
        card["exp_month"],
        card["exp_year"],
        params.get("billing_details"),
        {k: v for k, v in params.get("metadata", {}).items() if v}
        if params.get("metadata")
        else {},
    )
    return render(ctx, pm, params.get("expand"))


def retrieve(ctx: ApiContext, params: dict[str, Any], path: dict[str, str]) -> Obj:
    return render(ctx, resolve(ctx, path["payment_method"]), params.get("expand"))


ROUTES: list[Route] = [
    route("post", "/v1/payment_methods", CREATE, create, publishable=True),
    route("get", "/v1/payment_methods/{payment_method}", {}, retrieve),
]
