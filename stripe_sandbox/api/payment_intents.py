"""PaymentIntents: create, retrieve, update, confirm, cancel, list, and the card outcomes."""

from __future__ import annotations

import contextlib
import copy
import time
from typing import Any

from .. import currencies
from ..cards import Decline, card_for
from ..errors import StripeError
from ..ids import new_id, random_token
from ..params import A, B, E, I, M, O, R, S
from ..state import Obj
from . import payment_methods
from .charges import build_charge
from .common import LIST_PARAMS, ApiContext, Route, created_matches, fetch, paginate, render, route

AUTOMATIC_PAYMENT_METHODS = O(enabled=B(required=True), allow_redirects=E("always", "never"))

CREATE = {
    "amount": I(required=True),
    "currency": S(required=True),
    "description": S(max_length=1000),
    "receipt_email": S(),
    "metadata": M(),
    "statement_descriptor_suffix": S(max_length=22),
    "application_fee_amount": I(),
    "automatic_payment_methods": AUTOMATIC_PAYMENT_METHODS,
    "payment_method": S(),
    "payment_method_types": A(S()),
    "confirm": B(),
    "return_url": S(),
}
UPDATE = {
    "amount": I(),
    "currency": S(),
    "description": S(max_length=1000, emptyable=True),
    "receipt_email": S(emptyable=True),
    "metadata": M(emptyable=True),
    "statement_descriptor_suffix": S(max_length=22, emptyable=True),
    "application_fee_amount": I(emptyable=True),
    "payment_method": S(),
}
CONFIRM = {
    "payment_method": S(),
    "receipt_email": S(emptyable=True),
    "return_url": S(),
    "client_secret": S(),
    "use_stripe_sdk": B(),
}
CANCEL = {
    "cancellation_reason": E("duplicate", "fraudulent", "requested_by_customer", "abandoned"),
}
RETRIEVE = {"client_secret": S()}
LIST = {**LIST_PARAMS, "created": R()}

CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
)
AUTHENTICATION_FAILURE = (
    "We are unable to authenticate your payment method. Please choose a different payment "
    "method and try again."
)


def _check_email(value: str, param: str) -> None:
    if value and ("@" not in value or value.startswith("@") or value.endswith("@")):
        raise StripeError(f"Invalid email address: {value}", code="email_invalid", param=param)


def _merge_metadata(current: dict[str, str], update: Any) -> dict[str, str]:
    """Stripe's rules: an empty value unsets a key, `metadata=""` unsets them all."""
    if update == "":
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _check_fee(fee: int, amount: int) -> None:
    if fee < 0 or fee > amount:
        raise StripeError(
            "The application fee amount must be between 0 and the amount of the PaymentIntent.",
            param="application_fee_amount",
        )


def _unexpected_state(action: str, pi: Obj, allowed: tuple[str, ...]) -> StripeError:
    return StripeError(
        f"You cannot {action} this PaymentIntent because it has a status of {pi['status']}. "
        f"Only a PaymentIntent with one of the following statuses may be {action}ed: "
        + ", ".join(allowed)
        + ".",
        code="payment_intent_unexpected_state",
        extra={"payment_intent": copy.deepcopy(pi)},
    )


def _missing_payment_method() -> StripeError:
    return StripeError(
        "You cannot confirm this PaymentIntent because it's missing a payment method. "
        "You can either update the PaymentIntent with a payment method and then confirm it "
        "again, or confirm it again directly with a payment method.",
        code="payment_intent_unexpected_state",
    )


def _check_client_secret(ctx: ApiContext, pi: Obj, params: dict[str, Any]) -> None:
    """With a publishable key the client secret is the caller's only proof of access."""
    secret = params.get("client_secret")
    if ctx.key_kind == "publishable" and secret is None:
        raise StripeError(
            "You must provide a client_secret when using a publishable key.",
            param="client_secret",
        )
    if secret is not None and secret != pi["client_secret"]:
        raise StripeError(
            "The client_secret provided does not match the client_secret associated with the "
            "PaymentIntent.",
            param="client_secret",
        )


def create(ctx: ApiContext, params: dict[str, Any], _: dict[str, str]) -> Obj:
    currency = currencies.check_currency(params["currency"])
    currencies.check_amount(params["amount"], currency)
    if "application_fee_amount" in params:
        _check_fee(params["application_fee_amount"], params["amount"])
    for email_param in ("receipt_email",):
        _check_email(params.get(email_param, ""), email_param)
    apm = params.get("automatic_payment_methods")
    if apm is not None and "payment_method_types" in params:
        raise StripeError(
            "You may only specify one of these parameters: automatic_payment_methods, "
            "payment_method_types.",
            code="parameters_exclusive",
            param="automatic_payment_methods",
        )
    if params.get("payment_method_types", ["card"]) != ["card"]:
        raise StripeError(
            "The sandbox only supports the `card` payment method type.",
            param="payment_method_types",
        )
    if params.get("confirm") and "payment_method" not in params:
        raise _missing_payment_method()
    pm = (
        payment_methods.resolve(ctx, params["payment_method"])
        if "payment_method" in params
        else None
    )
    pi_id = new_id("pi")
    pi: Obj = {
        "id": pi_id,
        "object": "payment_intent",
        "amount": params["amount"],
        "amount_capturable": 0,
        "amount_received": 0,
        "application": None,
        "application_fee_amount": params.get("application_fee_amount"),
        "automatic_payment_methods": (
            {"allow_redirects": apm.get("allow_redirects", "always"), "enabled": apm["enabled"]}
            if apm
            else None
        ),
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{pi_id}_secret_{random_token(25)}",
        "confirmation_method": "automatic",
        "created": int(time.time()),
        "currency": currency,
        "customer": None,
        "description": params.get("description"),
        "invoice": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": _merge_metadata({}, params.get("metadata", {})),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": pm["id"] if pm else None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": params.get("receipt_email"),
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": params.get("statement_descriptor_suffix"),
        "status": "requires_confirmation" if pm else "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }
    ctx.state.put(ctx.account, pi)
    ctx.emit("payment_intent.created", pi)
    if params.get("confirm") and pm is not None:
        _attempt(ctx, pi, pm)
    return render(ctx, pi, params.get("expand"))


def retrieve(ctx: ApiContext, params: dict[str, Any], path: dict[str, str]) -> Obj:
    pi = fetch(ctx, "payment_intent", path["intent"], "intent")
    _check_client_secret(ctx, pi, params)
    return render(ctx, pi, params.get("expand"))


def update(ctx: ApiContext, params: dict[str, Any], path: dict[str, str]) -> Obj:
    pi = fetch(ctx, "payment_intent", path["intent"], "intent")
    money = {"amount", "currency", "application_fee_amount", "payment_method"} & params.keys()
    if money and pi["status"] not in CONFIRMABLE:
        raise StripeError(
            f"This PaymentIntent's {sorted(money)[0]} could not be updated because it has a "
            f"status of {pi['status']}. You may only update the {sorted(money)[0]} of a "
            "PaymentIntent with one of the following statuses: " + ", ".join(CONFIRMABLE) + ".",
            code="payment_intent_unexpected_state",
            param=sorted(money)[0],
        )
    currency = currencies.check_currency(params["currency"]) if "currency" in params else None
    amount: int = params["amount"] if "amount" in params else pi["amount"]
    currencies.check_amount(amount, currency or pi["currency"])
    fee = params.get("application_fee_amount")
    if isinstance(fee, int):
        _check_fee(fee, amount)
    _check_email(params.get("receipt_email", ""), "receipt_email")
    pm = (
        payment_methods.resolve(ctx, params["payment_method"])
        if "payment_method" in params
        else None
    )
    # All checks passed: only now change the object.
    previous: Obj = {}
    for key in ("amount", "description", "receipt_email", "statement_descriptor_suffix"):
        if key in params:
            previous[key] = pi[key]
            pi[key] = params[key] or None
    if currency:
        previous["currency"], pi["currency"] = pi["currency"], currency
    if "application_fee_amount" in params:
        previous["application_fee_amount"] = pi["application_fee_amount"]
        pi["application_fee_amount"] = fee if isinstance(fee, int) else None
    if "metadata" in params:
        previous["metadata"] = pi["metadata"]
        pi["metadata"] = _merge_metadata(pi["metadata"], params["metadata"])
    if pm:
        previous["payment_method"] = pi["payment_method"]
        pi["payment_method"] = pm["id"]
        pi["status"] = "requires_confirmation"
    return render(ctx, pi, params.get("expand"))


def confirm(ctx: ApiContext, params: dict[str, Any], path: dict[str, str]) -> Obj:
    pi = fetch(ctx, "payment_intent", path["intent"], "intent")
    _check_client_secret(ctx, pi, params)
    if pi["status"] not in CONFIRMABLE:
        raise _unexpected_state("confirm", pi, CONFIRMABLE)
    _check_email(params.get("receipt_email", ""), "receipt_email")
    if "payment_method" in params:
        pm = payment_methods.resolve(ctx, params["payment_method"])
    elif pi["payment_method"]:
        pm = payment_methods.resolve(ctx, pi["payment_method"])
    else:
        raise _missing_payment_method()
    if "receipt_email" in params:
        pi["receipt_email"] = params["receipt_email"] or None
    _attempt(ctx, pi, pm)
    return render(ctx, pi, params.get("expand"))


def _attempt(ctx: ApiContext, pi: Obj, pm: Obj) -> None:
    """One payment attempt with `pm`: 3-D Secure, a decline (402) or money moving."""
    pi["payment_method"] = pm["id"]
    pi["last_payment_error"] = None
    card = card_for(ctx.state.pm_cards[pm["id"]])
    if card.three_d_secure:
        pi["status"] = "requires_action"
        pi["next_action"] = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {
                "type": "three_d_secure_redirect",
                "stripe_js": f"{ctx.sandbox.base_url}/_sandbox/three_d_secure/{pi['id']}",
                "source": new_id("src"),
            },
        }
        ctx.emit("payment_intent.requires_action", pi)
        return
    _charge(ctx, pi, pm, card.decline)


def _charge(ctx: ApiContext, pi: Obj, pm: Obj, decline: Decline | None) -> None:
    pi["next_action"] = None
    if decline is not None:
        charge = build_charge(ctx, pi, pm, decline=decline, status="failed")
        error: Obj = {
            "type": "card_error",
            "code": decline.code,
            "decline_code": decline.decline_code,
            "message": decline.message,
            "charge": charge["id"],
            "payment_method": copy.deepcopy(pm),
            "doc_url": "https://stripe.com/docs/error-codes/" + decline.code.replace("_", "-"),
        }
        pi.update(status="requires_payment_method", latest_charge=charge["id"])
        pi["last_payment_error"] = error
        ctx.emit("charge.failed", charge)
        ctx.emit("payment_intent.payment_failed", pi)
        raise StripeError(
            decline.message,
            status=402,
            type="card_error",
            code=decline.code,
            decline_code=decline.decline_code,
            executed=True,
            extra={
                "charge": charge["id"],
                "payment_intent": copy.deepcopy(pi),
                "payment_method": copy.deepcopy(pm),
            },
        )
    delay = ctx.sandbox.faults.settings.processing_seconds
    charge = build_charge(ctx, pi, pm, decline=None, status="pending" if delay else "succeeded")
    pi["latest_charge"] = charge["id"]
    if delay:
        # Card payments settle at once on Stripe; a delay lets tests see `processing`.
        pi["status"] = "processing"
        ctx.emit("payment_intent.processing", pi)
        ctx.sandbox.later(delay, ctx.account, lambda c: _settle(c, pi["id"]))
        return
    _succeed(ctx, pi, charge)


def _settle(ctx: ApiContext, pi_id: str) -> None:
    pi = ctx.state.get(ctx.account, pi_id, "payment_intent")
    if pi is None or pi["status"] != "processing":
        return  # reset or canceled meanwhile
    charge = fetch(ctx, "charge", pi["latest_charge"], "charge")
    charge.update(status="succeeded", paid=True)
    _succeed(ctx, pi, charge)


def _succeed(ctx: ApiContext, pi: Obj, charge: Obj) -> None:
    pi.update(status="succeeded", amount_received=pi["amount"], next_action=None)
    ctx.emit("charge.succeeded", charge)
    ctx.emit("payment_intent.succeeded", pi)


def authenticate(ctx: ApiContext, pi: Obj, success: bool) -> Obj:
    """The outcome of the 3-D Secure challenge shown by the Stripe.js shim (or a test)."""
    if pi["status"] != "requires_action":
        raise _unexpected_state("authenticate", pi, ("requires_action",))
    pm = payment_methods.resolve(ctx, pi["payment_method"])
    if not success:
        pi.update(status="requires_payment_method", next_action=None)
        pi["last_payment_error"] = {
            "type": "invalid_request_error",
            "code": "payment_intent_authentication_failure",
            "message": AUTHENTICATION_FAILURE,
            "payment_method": copy.deepcopy(pm),
            "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
        }
        ctx.emit("payment_intent.payment_failed", pi)
        return pi
    card = card_for(ctx.state.pm_cards[pm["id"]])
    # A decline after authentication is recorded on the PaymentIntent's last_payment_error.
    with contextlib.suppress(StripeError):
        _charge(ctx, pi, pm, card.decline_after_3ds)
    return pi


def cancel(ctx: ApiContext, params: dict[str, Any], path: dict[str, str]) -> Obj:
    pi = fetch(ctx, "payment_intent", path["intent"], "intent")
    if pi["status"] not in CANCELABLE:
        raise _unexpected_state("cancel", pi, CANCELABLE)
    pi.update(
        status="canceled",
        canceled_at=int(time.time()),
        cancellation_reason=params.get("cancellation_reason"),
        next_action=None,
    )
    ctx.emit("payment_intent.canceled", pi)
    return render(ctx, pi, params.get("expand"))


def list_(ctx: ApiContext, params: dict[str, Any], _: dict[str, str]) -> Obj:
    items = [
        pi
        for pi in ctx.state.list_objects(ctx.account, "payment_intent")
        if created_matches(pi["created"], params.get("created"))
    ]
    return paginate(ctx, items, params, "/v1/payment_intents", "payment_intent")


ROUTES: list[Route] = [
    route("post", "/v1/payment_intents", CREATE, create),
    route("get", "/v1/payment_intents", LIST, list_),
    route("get", "/v1/payment_intents/{intent}", RETRIEVE, retrieve, publishable=True),
    route("post", "/v1/payment_intents/{intent}", UPDATE, update),
    route("post", "/v1/payment_intents/{intent}/confirm", CONFIRM, confirm, publishable=True),
    route("post", "/v1/payment_intents/{intent}/cancel", CANCEL, cancel),
]
