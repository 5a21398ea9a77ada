"""Refunds of a PaymentIntent's (or a charge's) successful charge: full or partial."""

from __future__ import annotations

import time
from typing import Any

from ..currencies import format_amount
from ..errors import StripeError
from ..ids import new_id
from ..params import E, I, M, R, S
from ..state import Obj
from .common import LIST_PARAMS, ApiContext, Route, created_matches, fetch, paginate, render, route

CREATE = {
    "payment_intent": S(),
    "charge": S(),
    "amount": I(),
    "reason": E("duplicate", "fraudulent", "requested_by_customer"),
    "metadata": M(),
}
LIST = {**LIST_PARAMS, "payment_intent": S(), "charge": S(), "created": R()}


def _charge_to_refund(ctx: ApiContext, params: dict[str, Any]) -> Obj:
    if ("payment_intent" in params) == ("charge" in params):
        raise StripeError(
            "You must pass either a charge or a payment_intent, but not both.",
            param="payment_intent" if "charge" in params else "charge",
        )
    if "charge" in params:
        charge = fetch(ctx, "charge", params["charge"], "charge")
    else:
        pi = fetch(ctx, "payment_intent", params["payment_intent"], "payment_intent")
        latest = ctx.state.get(ctx.account, pi["latest_charge"] or "", "charge")
        if pi["status"] != "succeeded" or latest is None:
            raise StripeError(
                f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        charge = latest
    if charge["status"] != "succeeded":
        raise StripeError(
            f"Charge {charge['id']} has not succeeded, so it cannot be refunded.", param="charge"
        )
    return charge


def create(ctx: ApiContext, params: dict[str, Any], _: dict[str, str]) -> Obj:
    charge = _charge_to_refund(ctx, params)
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining == 0:
        raise StripeError(
            f"Charge {charge['id']} has already been refunded.",
            code="charge_already_refunded",
            param="charge" if "charge" in params else "payment_intent",
        )
    amount = params.get("amount", remaining)
    if amount < 1:
        raise StripeError(
            "This value must be greater than or equal to 1.",
            code="parameter_invalid_integer",
            param="amount",
        )
    if amount > remaining:
        cur = charge["currency"]
        raise StripeError(
            f"Refund amount ({format_amount(amount, cur)}) is greater than unrefunded amount "
            f"on charge ({format_amount(remaining, cur)})",
            param="amount",
        )
    refund: Obj = {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn"),
        "charge": charge["id"],
        "created": int(time.time()),
        "currency": charge["currency"],
        "metadata": {k: v for k, v in (params.get("metadata") or {}).items() if v},
        "payment_intent": charge["payment_intent"],
        "reason": params.get("reason"),
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }
    ctx.state.put(ctx.account, refund)
    previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    ctx.emit("refund.created", refund)
    ctx.emit("charge.refunded", charge, previous_attributes=previous)
    return render(ctx, refund, params.get("expand"))


def retrieve(ctx: ApiContext, params: dict[str, Any], path: dict[str, str]) -> Obj:
    return render(ctx, fetch(ctx, "refund", path["refund"], "refund"), params.get("expand"))


def list_(ctx: ApiContext, params: dict[str, Any], _: dict[str, str]) -> Obj:
    items = [
        r
        for r in ctx.state.list_objects(ctx.account, "refund")
        if created_matches(r["created"], params.get("created"))
        and params.get("payment_intent", r["payment_intent"]) == r["payment_intent"]
        and params.get("charge", r["charge"]) == r["charge"]
    ]
    return paginate(ctx, items, params, "/v1/refunds", "refund")


ROUTES: list[Route] = [
    route("post", "/v1/refunds", CREATE, create),
    route("get", "/v1/refunds", LIST, list_),
    route("get", "/v1/refunds/{refund}", {}, retrieve),
]
