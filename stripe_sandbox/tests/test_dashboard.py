"""The sandbox's dashboard pages: what a "View in Stripe dashboard" link opens offline."""

from __future__ import annotations

import html
import re

import pytest
import stripe

from stripe_sandbox import HARBOUR_GP_ACCOUNT_ID, NORTHSIDE_PHYSIO_ACCOUNT_ID
from stripe_sandbox.tests.helpers import HARBOUR, http


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _paid(client, **extra):
    pi = client.v1.payment_intents.create(
        {
            "amount": 8500,
            "currency": "aud",
            "description": "Standard consultation",
            "metadata": {"carecall_reference": "CC-ABC234", "clinic": "Harbour GP"},
            "payment_method": "pm_card_visa",
            "confirm": True,
            "receipt_email": "pat@example.test",
            **extra,
        },
        HARBOUR,
    )
    assert pi.status == "succeeded"
    return pi


def test_a_payment_page_shows_amount_status_card_charges_refunds_and_metadata(connected, client):
    pi = _paid(client)
    refund = client.v1.refunds.create(
        {"payment_intent": pi.id, "amount": 2000, "reason": "requested_by_customer"}, HARBOUR
    )
    r = http("GET", f"{connected.url}/dashboard/{HARBOUR_GP_ACCOUNT_ID}/payments/{pi.id}", key=None)
    assert r.status == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src" not in r.headers["content-security-policy"]  # no script at all
    text = _text(r.body)
    for expected in (
        f"Payment {pi.id}",
        "85.00 AUD",
        "Partially refunded",
        "Standard consultation",
        "Visa •••• 4242",
        "20.00 AUD",
        refund.id,
        pi.latest_charge,
        "requested_by_customer",
        "carecall_reference CC-ABC234",
        "clinic Harbour GP",
        "pat@example.test",
        "Harbour GP Pty Ltd",
        "payment_intent.succeeded",
        "refund.created",
    ):
        assert expected in text, expected
    css = http("GET", f"{connected.url}/dashboard/dashboard.css", key=None)
    assert css.status == 200 and css.headers["content-type"].startswith("text/css")


def test_a_failed_attempt_shows_as_a_failed_charge(connected, client):
    pi = client.v1.payment_intents.create(
        {"amount": 4000, "currency": "aud", "payment_method": "pm_card_chargeDeclined"}, HARBOUR
    )
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.confirm(pi.id, options=HARBOUR)
    r = http("GET", f"{connected.url}/dashboard/{HARBOUR_GP_ACCOUNT_ID}/payments/{pi.id}", key=None)
    text = _text(r.body)
    assert "Failed" in text and "Your card was declined." in text and "failed" in text


def test_the_account_list_links_each_payment(connected, client):
    pi = _paid(client)
    r = http("GET", f"{connected.url}/dashboard/{HARBOUR_GP_ACCOUNT_ID}/payments", key=None)
    assert r.status == 200
    assert f'href="/dashboard/{HARBOUR_GP_ACCOUNT_ID}/payments/{pi.id}"' in r.body
    assert "Succeeded" in _text(r.body)


def test_unknown_payments_and_other_accounts_payments_are_html_404s(connected, client):
    pi = _paid(client)
    for path in (
        f"/dashboard/{NORTHSIDE_PHYSIO_ACCOUNT_ID}/payments/{pi.id}",  # not that account's
        f"/dashboard/{HARBOUR_GP_ACCOUNT_ID}/payments/pi_nope",
        "/dashboard/acct_nope/payments",
        "/dashboard/elsewhere",
    ):
        r = http("GET", connected.url + path, key=None)
        assert r.status == 404, path
        assert r.headers["content-type"].startswith("text/html"), path
    assert http("POST", connected.url + "/dashboard/x", data="", key=None).status == 405
