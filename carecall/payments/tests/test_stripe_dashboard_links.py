"""'Open in the Stripe dashboard' opens that payment: Stripe's Dashboard in production, the
sandbox's dashboard pages when the API is stripe_sandbox (a JSON 404 before)."""

from __future__ import annotations

import html
import re
import urllib.request
from typing import Any

import pytest
from django.urls import reverse

import stripe_sandbox
from carecall.payments import stripe_dashboard
from carecall.payments.tests.test_records_support import paid_request
from testsupport.world import World, client_for


def _href(page: str, text: str) -> str:
    found = re.findall(rf'<a href="([^"]+)"[^>]*>{re.escape(text)}', page)
    assert len(found) == 1, (text, found)
    return html.unescape(found[0])


def _open(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.headers["Content-Type"], r.read().decode()


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_on_the_sandbox_the_payment_link_opens_that_payment_in_the_sandbox_dashboard(
    connected: World,
    sandbox: stripe_sandbox.SandboxServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.STRIPE_DASHBOARD_URL = "https://dashboard.stripe.com"  # the default: not set
    with django_capture_on_commit_callbacks(execute=True):
        pr = paid_request(connected, sandbox, description="Long consultation", amount="120.50")
    admin = client_for(connected.clinic_admin)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(
            reverse("payments:payment_refund", args=[pr.clinic_id, pr.pk]),
            {"amount": "20.50", "reason": "requested_by_customer", "form_token": "dash-1"},
        )
    detail = admin.get(reverse("payments:payment_detail", args=[pr.clinic_id, pr.pk]))
    link = _href(detail.content.decode(), "Open in the Stripe dashboard")
    assert link == (
        f"{sandbox.url}/dashboard/{stripe_sandbox.HARBOUR_GP_ACCOUNT_ID}/payments/"
        f"{pr.payment_intent_id}"
    )

    status, content_type, page = _open(link)
    assert status == 200 and content_type.startswith("text/html")
    text = _text(page)
    for expected in (
        f"Payment {pr.payment_intent_id}",
        "120.50 AUD",
        "Partially refunded",
        "Long consultation",
        "Visa •••• 4242",
        "20.50 AUD",
        "requested_by_customer",
        "pat@example.test",
        pr.reference,  # CareCall's metadata on the intent
        "Harbour GP Pty Ltd",
    ):
        assert expected in text, expected

    # The account's payments list (Customer payments page) lists and links it.
    settings_page = admin.get(reverse("payments:customer_payments", args=[pr.clinic_id]))
    list_link = _href(
        settings_page.content.decode(), "Open this account's payments in the Stripe dashboard"
    )
    assert list_link == f"{sandbox.url}/dashboard/{stripe_sandbox.HARBOUR_GP_ACCOUNT_ID}/payments"
    _, _, listing = _open(list_link)
    assert f"/payments/{pr.payment_intent_id}" in listing


@pytest.mark.parametrize(
    ("api", "dashboard", "expected"),
    [
        # Production: Stripe's Dashboard.
        ("https://api.stripe.com", "https://dashboard.stripe.com", "https://dashboard.stripe.com"),
        # The sandbox, nothing else configured: the sandbox's pages.
        (
            "http://127.0.0.1:12111",
            "https://dashboard.stripe.com",
            "http://127.0.0.1:12111/dashboard",
        ),
        # A dashboard configured on purpose is used as it is.
        ("http://127.0.0.1:12111", "https://dash.example.test/", "https://dash.example.test"),
    ],
)
def test_the_dashboard_follows_the_api(
    settings: Any, api: str, dashboard: str, expected: str
) -> None:
    settings.STRIPE_API_BASE = api
    settings.STRIPE_DASHBOARD_URL = dashboard
    assert stripe_dashboard.dashboard_base() == expected
    assert stripe_dashboard.payment_url("acct_1", "pi_2") == f"{expected}/acct_1/payments/pi_2"
