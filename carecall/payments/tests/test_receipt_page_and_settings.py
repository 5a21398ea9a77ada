"""The printable receipt under the payer's own link (`/v|j/<token>/payments/<id>/receipt/`):
every field, no-store, print stylesheet and Print button; only that payer, only once paid, and a
GET that writes nothing. Refunds show on it. The receipt fields on the clinic's payment settings
page: errors next to their field, control characters refused, ABN for Australian clinics and a
free tax id elsewhere. The demo's clinics have receipt details."""

from __future__ import annotations

import re
import zoneinfo
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

import stripe_sandbox
from carecall.audit.models import AuditEntry
from carecall.calls.services import guest_invite_create
from carecall.core.currencies import amount_format
from carecall.notifications.models import OutboxEmail
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.models import ClinicReceiptDetails, PaymentRequest, ProviderNumber
from carecall.payments.receipts import abn_is_valid
from carecall.payments.services.refunds import refund_create
from carecall.payments.tests.helpers import (
    Call,
    pay_at_stripe,
    post_json,
    receipt_settings_post,
    request_payment,
)
from testsupport.world import World, client_for


def _receipt(kind: str, token: str, pr: PaymentRequest) -> str:
    return reverse("payments:payer_receipt", args=[kind, token, str(pr.pk)])


def _paid_by(
    browser: Client, url_of: Any, sandbox: stripe_sandbox.SandboxServer, pr: PaymentRequest
) -> PaymentRequest:
    """The payer completes the payment in their own browser, as payments.js does."""
    post_json(browser, url_of("email"), {"email": "pat@example.test"})
    pay_at_stripe(sandbox, pr)
    assert post_json(browser, url_of("complete"), {}).json()["request"]["status"] == "paid"
    pr.refresh_from_db()
    return pr


@pytest.fixture
def paid(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> PaymentRequest:
    assert receipt_settings_post(connected).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    return _paid_by(Client(), lambda action: call.payer_url(pr, action), sandbox, pr)


def test_the_payers_receipt_page_shows_every_field_printable_and_never_cached(
    paid: PaymentRequest, call: Call
) -> None:
    page = Client().get(_receipt("v", call.token, paid))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    html = page.content.decode()
    text = html.replace("&amp;", "&")
    for expected in (
        "Smith & Jones Medical Pty Ltd",  # legal name
        "Level 2, 10 Harbour St",  # address, line by line
        "Sydney NSW 2000",
        "ABN: 51 824 753 556",
        "Pat Jones",  # the patient (the payer's display name on the visit)
        paid.requested_by.get_full_name(),  # the clinician
        "2123456A",  # their provider number at this clinic
        "Standard consultation",  # the item
        amount_format(8500, "AUD"),  # its amount and the total
        "Total paid",
        "Visa •••• 4242",  # the card
        paid.reference,
        "(Australia/Sydney)",  # date and time in the clinic's zone
        "desk@harbour.test",  # the clinic's contact
        "+61 2 9000 1234",
    ):
        assert expected in text, f"{expected!r} missing"
    # The clinic's local time of payment, not UTC.
    assert paid.paid_at is not None
    local = paid.paid_at.astimezone(zoneinfo.ZoneInfo("Australia/Sydney"))
    assert local.strftime("%-I:%M") in text
    # Print: its own stylesheet (with @media print), a Print button run by a file, no inline JS.
    assert "payments/receipt.css" in html and "payments/receipt.js" in html
    assert re.search(r"<button[^>]*data-print", html)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html), "inline script"
    assert 'role="main"' in html or "<main" in html
    assert "<article" in html and "<table" in html


def test_the_print_stylesheet_hides_the_site_chrome_and_prints_black_on_white() -> None:
    from django.contrib.staticfiles import finders

    path = finders.find("payments/receipt.css")
    assert path is not None
    css = Path(path).read_text()
    printing = css[css.index("@media print") :]
    assert ".site-header" in printing and "nav" in printing and ".receipt-actions" in printing
    assert "color: #000" in printing and "background: #fff" in printing


def test_the_receipt_page_opens_only_for_its_payer_and_only_once_paid(
    paid: PaymentRequest,
    connected: World,
    call: Call,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from carecall.payments.tests.helpers import start_call

    other = start_call(connected, first_name="Sam", last_name="Other")
    # Another visit's patient, with their own (real) link: 404, as if it did not exist.
    assert Client().get(_receipt("v", other.token, paid)).status_code == 404
    # A made-up link; a guest link that is not theirs.
    assert Client().get(_receipt("v", "made-up-token", paid)).status_code == 404
    assert Client().get(_receipt("j", call.token, paid)).status_code == 404
    # Staff hold no payer link: the clinician who asked, the clinic admin, signed in, get 404.
    for persona in ("clinician", "clinic_admin", "org_admin", "operator"):
        browser = client_for(connected.persona(persona))
        assert browser.get(_receipt("v", "made-up-token", paid)).status_code == 404
    # The payer's own link, but a request that is not paid.
    with django_capture_on_commit_callbacks(execute=True):
        unpaid = request_payment(connected, call, amount="40.00", description="Follow-up")
    assert Client().get(_receipt("v", call.token, unpaid)).status_code == 404
    # Read-only: POST is refused.
    assert Client().post(_receipt("v", call.token, paid)).status_code == 405


def test_opening_the_receipt_writes_nothing(paid: PaymentRequest, call: Call) -> None:
    before = (
        AuditEntry.objects.count(),
        OutboxEmail.objects.count(),
        paid.updated_at,
        paid.receipt_sent_at,
    )
    assert Client().get(_receipt("v", call.token, paid)).status_code == 200
    paid.refresh_from_db()
    after = (
        AuditEntry.objects.count(),
        OutboxEmail.objects.count(),
        paid.updated_at,
        paid.receipt_sent_at,
    )
    assert after == before


def test_a_guest_who_paid_sees_their_receipt_only_in_the_browser_that_claimed_the_link(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert receipt_settings_post(connected).status_code == 302
    guest, url = guest_invite_create(
        actor=connected.clinician, visit=call.visit, base_url="http://testserver"
    )
    token = url.rstrip("/").rsplit("/", 1)[1]
    browser = Client()
    assert browser.post(url, {"display_name": "Alex Carer"}).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call, payer_id=str(guest.pk))

    def url_of(action: str) -> str:
        return reverse("payments:payer_payment", args=["j", token, str(pr.pk)]) + f"{action}/"

    pr = _paid_by(browser, url_of, sandbox, pr)
    listing = browser.get(reverse("payments:payer_payments", args=["j", token])).json()
    (mine,) = listing["requests"]
    assert mine["receipt_url"] == _receipt("j", token, pr)

    page = browser.get(mine["receipt_url"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "Pat Jones" in text  # the patient the visit is for
    assert "Alex Carer" in text  # who paid
    # The same link in another browser, and the patient's own link: not theirs.
    assert Client().get(mine["receipt_url"]).status_code == 404
    assert Client().get(_receipt("v", call.token, pr)).status_code == 404


def test_a_refunded_payment_keeps_its_receipt_showing_the_refund(
    paid: PaymentRequest, connected: World, call: Call, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        refund_create(
            actor=connected.clinic_admin,
            payment_request=paid,
            amount_text="20.00",
            reason="requested_by_customer",
            note="",
            form_token="receipt-refund",
        )
    listing = Client().get(call.payer_url()).json()["requests"]
    (mine,) = [r for r in listing if r["id"] == str(paid.pk)]
    page = Client().get(mine["receipt_url"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "Refunded on" in text and f"−{amount_format(2000, 'AUD')}" in text
    assert "Paid after refunds" in text and amount_format(6500, "AUD") in text


# ------------------------------------------------------------------- the clinic's settings page


class _Fields(HTMLParser):
    """Each form field's block (<div class="field">) as text, keyed by the input's name."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: dict[str, str] = {}
        self._depth = 0
        self._name = ""
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "div":
            if self._depth:
                self._depth += 1
            elif a.get("class") == "field":
                self._depth, self._name, self._text = 1, "", []
        if self._depth and tag in ("input", "textarea", "select") and not self._name:
            self._name = a.get("name") or ""
            if "aria-invalid" in a:
                self._text.append("[invalid]")

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._depth:
            self._depth -= 1
            if not self._depth:
                self.blocks[self._name] = " ".join("".join(self._text).split())

    def handle_data(self, data: str) -> None:
        if self._depth:
            self._text.append(data)


def _field_blocks(response: Any) -> dict[str, str]:
    parser = _Fields()
    parser.feed(response.content.decode())
    return parser.blocks


def test_a_wrong_abn_is_said_next_to_its_field_and_nothing_is_saved(connected: World) -> None:
    response = receipt_settings_post(connected, business_number="51 824 753 557")
    assert response.status_code == 400
    blocks = _field_blocks(response)
    assert "ABN: 11 digits" in blocks["pay-business_number"]
    assert "[invalid]" in blocks["pay-business_number"]
    assert "ABN: 11 digits" not in blocks["pay-legal_name"]
    assert not ClinicReceiptDetails.objects.filter(clinic=connected.harbour).exists()
    assert not AuditEntry.objects.filter(action=PaymentAction.CLINIC_PAYMENT_SETTINGS).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("legal_name", "Smith\x07 & Jones"),  # BEL
        ("legal_name", "Smith \u202eseno J"),  # a right-to-left override: reads reversed
        ("address", "Level 2\x1f10 Harbour St"),  # a unit separator (str.split eats it)
        ("address", "Level 2\x0010 Harbour St"),
        ("business_number", "51 824\x0b753 556"),
    ],
)
def test_control_characters_are_refused_next_to_their_field(
    connected: World, field: str, value: str
) -> None:
    response = receipt_settings_post(connected, **{field: value})
    assert response.status_code == 400
    block = _field_blocks(response)[f"pay-{field}"]
    assert re.search(r"control characters|Null characters are not allowed", block), block
    assert not ClinicReceiptDetails.objects.filter(clinic=connected.harbour).exists()


def test_a_bad_provider_number_is_said_next_to_that_clinicians_field(connected: World) -> None:
    response = receipt_settings_post(connected, **{f"provider_{connected.clinician.pk}": "12"})
    assert response.status_code == 400
    block = _field_blocks(response)[f"pay-provider_{connected.clinician.pk}"]
    assert "6 to 12 letters and digits" in block
    assert not ProviderNumber.objects.exists()


def test_clearing_a_provider_number_removes_it_audited(connected: World) -> None:
    assert receipt_settings_post(connected).status_code == 302
    assert (
        receipt_settings_post(connected, **{f"provider_{connected.clinician.pk}": ""}).status_code
        == 302
    )
    assert not ProviderNumber.objects.exists()
    entry = AuditEntry.objects.filter(action=PaymentAction.CLINIC_PAYMENT_SETTINGS).latest("at")
    assert f"provider number of {connected.clinician.full_name} 2123456A → —" in entry.summary


def test_the_page_asks_an_australian_clinic_for_its_abn_and_others_for_a_tax_id(
    connected: World,
) -> None:
    url = reverse("orgs:clinic_edit", args=[connected.harbour.pk])
    page = client_for(connected.clinic_admin).get(url)
    labels = _field_blocks(page)
    assert labels["pay-business_number"].startswith("ABN on receipts")
    assert labels[f"pay-provider_{connected.clinician.pk}"].startswith(
        f"Provider number of {connected.clinician.get_full_name()}"
    )

    connected.harbour.currency = "NZD"
    connected.harbour.save(update_fields=["currency"])
    page = client_for(connected.clinic_admin).get(url)
    assert _field_blocks(page)["pay-business_number"].startswith("Tax ID on receipts")
    # A New Zealand GST number is no ABN: kept as given.
    assert receipt_settings_post(connected, business_number="GST 123-456-789").status_code == 302
    details = ClinicReceiptDetails.objects.get(clinic=connected.harbour)
    assert details.business_number == "GST 123-456-789"


def test_an_abn_never_starts_with_zero() -> None:
    # 00 101 000 000 passes the weighted sum, but ABNs run from 10 000 000 000.
    assert abn_is_valid("53 004 085 616")
    assert not abn_is_valid("00 101 000 000")


# ------------------------------------------------------------------------------------ the demo


def test_the_demo_clinics_have_receipt_details_and_provider_numbers(db: None) -> None:
    from carecall.orgs.demo import demo_seed
    from carecall.payments.demo import demo_receipt_details_seed

    demo_seed()
    demo_receipt_details_seed()
    demo_receipt_details_seed()  # again: nothing changes, nothing more audited
    harbour = ClinicReceiptDetails.objects.get(clinic__slug="harbour-gp")
    assert harbour.legal_name == "Harbour GP Pty Ltd"
    assert abn_is_valid(harbour.business_number)
    assert "Sydney NSW 2000" in harbour.address
    numbers = dict(ProviderNumber.objects.values_list("user__email", "number"))
    assert numbers == {"chris@demo-health.test": "2426591B", "nina@demo-health.test": "4021735J"}
    assert AuditEntry.objects.filter(action=PaymentAction.CLINIC_PAYMENT_SETTINGS).count() == 2
