"""Charges: created by confirming a PaymentIntent; retrievable and expandable as `latest_charge`."""

from __future__ import annotations

import time
from typing import Any

from ..cards import Decline
from ..ids import new_id
from ..state import Obj
from .common import ApiContext, Route, fetch, render, route


def build_charge(ctx: ApiContext, pi: Obj, pm: Obj, *, decline: Decline | None, status: str) -> Obj:
    card = pm["card"]
    charge: Obj = {
        "id": new_id("ch"),
        "object": "charge",
        "amount": pi["amount"],
        "amount_captured": 0 if decline else pi["amount"],
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": pi.get("application_fee_amount"),
        "balance_transaction": None if decline else new_id("txn"),
        "billing_details": pm["billing_details"],
        "calculated_statement_descriptor": "CARECALL*"
        + (pi.get("statement_descriptor_suffix") or "")[:12].upper(),
        "captured": decline is None,
        "created": int(time.time()),
        "currency": pi["currency"],
        "customer": None,
        "description": pi.get("description"),
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": decline.code if decline else None,
        "failure_message": decline.message if decline else None,
        "fraud_details": {},
        "invoice": None,
        "livemode": False,
        "metadata": dict(pi.get("metadata") or {}),
        "on_behalf_of": None,
        "outcome": {
            "network_status": "declined_by_network" if decline else "approved_by_network",
            "reason": decline.decline_code if decline else None,
            "risk_level": "normal",
            "risk_score": 20,
            "seller_message": "The bank did not return any further details with this decline."
            if decline
            else "Payment complete.",
            "type": "issuer_declined" if decline else "authorized",
        },
        "paid": decline is None and status == "succeeded",
        "payment_intent": pi["id"],
        "payment_method": pm["id"],
        "payment_method_details": {
            "type": "card",
            "card": {
                "brand": card["brand"],
                "checks": card["checks"],
                "country": card["country"],
                "exp_month": card["exp_month"],
                "exp_year": card["exp_year"],
                "fingerprint": card["fingerprint"],
                "funding": card["funding"],
                "installments": None,
                "last4": card["last4"],
                "mandate": None,
                "network": card["brand"],
                "three_d_secure": None,
                "wallet": None,
            },
        },
        "receipt_email": pi.get("receipt_email"),
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": pi.get("statement_descriptor_suffix"),
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }
    return ctx.state.put(ctx.account, charge)


def retrieve(ctx: ApiContext, params: dict[str, Any], path: dict[str, str]) -> Obj:
    return render(ctx, fetch(ctx, "charge", path["charge"], "charge"), params.get("expand"))


ROUTES: list[Route] = [route("get", "/v1/charges/{charge}", {}, retrieve)]
