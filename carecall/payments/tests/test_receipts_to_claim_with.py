"""Receipts a patient can claim with: the clinic's legal name, address and ABN (checked for
Australian clinics; a free tax id elsewhere), the clinician and their provider number, the
patient, the item and total, card, reference, date and time in the clinic's zone and the
clinic's contact, in the email (text and styled HTML) and on a printable page; all set by the
clinic's admins on its payment settings page, audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import stripe_sandbox
from carecall.audit.models import AuditEntry
from carecall.core.currencies import amount_format
from carecall.core.errors import ServiceError
from carecall.notifications.models import OutboxEmail
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.models import ClinicReceiptDetails, PaymentRequest, ProviderNumber
from carecall.payments.receipts import abn_is_valid, business_number_clean, receipt_url
from carecall.payments.tests.helpers import (
    RECEIPT_ADDRESS,
    Call,
    pay_at_stripe,
    post_json,
    receipt_settings_post,
    request_payment,
)
from testsupport.world import World, client_for


@pytest.fixture
def paid(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> PaymentRequest:
    assert receipt_settings_post(connected, "clinic_admin").status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    post_json(Client(), call.payer_url(pr, "email"), {"email": "pat@example.test"})
    OutboxEmail.objects.update(sent_at=timezone.now())
    mail.outbox.clear()
    pay_at_stripe(sandbox, pr)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(Client(), call.payer_url(pr, "complete"), {})
    assert response.json()["request"]["status"] == "paid"
    pr.refresh_from_db()
    return pr


def _every_field(text: str, pr: PaymentRequest) -> None:
    for expected in (
        "Smith & Jones Medical Pty Ltd",
        "Level 2, 10 Harbour St",
        "Sydney NSW 2000",
        "ABN: 51 824 753 556",
        "Pat Jones",  # the patient
        pr.requested_by.get_full_name(),
        "2123456A",  # provider number
        pr.description,
        amount_format(pr.amount, pr.currency),  # the item's amount and the total: AUD 85.00
        "Total paid",
        "Visa •••• 4242",
        pr.reference,
        "(Australia/Sydney)",  # date and time in the clinic's zone
        "desk@harbour.test",
        "+61 2 9000 1234",
    ):
        assert expected in text, f"{expected!r} missing"


def test_the_receipt_email_carries_every_field_in_text_and_styled_html(
    paid: PaymentRequest,
) -> None:
    (email,) = [m for m in mail.outbox if paid.reference in m.subject]
    _every_field(str(email.body), paid)  # the text part is plain: "Smith & Jones", not "&amp;"
    assert "&amp;" not in str(email.body)
    html = str(email.alternatives[0][0])  # type: ignore[attr-defined]
    _every_field(html.replace("&amp;", "&"), paid)
    assert 'style="' in html and "font-family" in html  # inline CSS, not a <style> sheet
    assert "<style" not in html
    assert "/receipts/" in str(email.body) and "/receipts/" in html


def test_the_printable_receipt_page_shows_every_field_and_is_never_cached(
    paid: PaymentRequest,
) -> None:
    page = Client().get(receipt_url(paid))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    text = page.content.decode().replace("&amp;", "&")
    _every_field(text, paid)
    assert "payments/receipt.css" in text and "data-print" in text


def test_a_receipt_link_opens_only_its_paid_request(
    paid: PaymentRequest, connected: World, call: Call, django_capture_on_commit_callbacks: Any
) -> None:
    good = receipt_url(paid)
    assert Client().get(good[:-3] + "xx/").status_code == 404  # altered signature
    with django_capture_on_commit_callbacks(execute=True):
        unpaid = request_payment(connected, call)
    assert Client().get(receipt_url(unpaid)).status_code == 404
    assert Client().post(good).status_code == 405  # read only


def test_the_payer_gets_the_receipt_link_once_paid(
    paid: PaymentRequest, connected: World, call: Call, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        unpaid = request_payment(connected, call)
    listing = Client().get(call.payer_url()).json()["requests"]
    by_id = {r["id"]: r for r in listing}
    # Under the payer's own link (the page only that payer can open), not the email's link.
    assert by_id[str(paid.pk)]["receipt_url"] == reverse(
        "payments:payer_receipt", args=["v", call.token, str(paid.pk)]
    )
    assert "receipt_url" not in by_id[str(unpaid.pk)]
    # The clinicians' JSON never carries the payer's link.
    staff = client_for(connected.clinician).get(call.staff_url()).json()["requests"]
    assert all("receipt_url" not in r for r in staff)


def test_admins_set_receipt_details_audited_and_others_cannot(connected: World) -> None:
    assert receipt_settings_post(connected, "org_admin").status_code == 302
    details = ClinicReceiptDetails.objects.get(clinic=connected.harbour)
    assert (details.legal_name, details.address, details.business_number) == (
        "Smith & Jones Medical Pty Ltd",
        RECEIPT_ADDRESS,
        "51 824 753 556",
    )
    assert ProviderNumber.objects.get(clinic=connected.harbour).number == "2123456A"
    entry = AuditEntry.objects.filter(action=PaymentAction.CLINIC_PAYMENT_SETTINGS).latest("at")
    for change in (
        "receipt legal name — → Smith & Jones Medical Pty Ltd",
        "receipt address — → Level 2, 10 Harbour St, Sydney NSW 2000",
        "receipt business number — → 51 824 753 556",
        f"provider number of {connected.clinician.full_name} — → 2123456A",
    ):
        assert change in entry.summary
    assert entry.actor == connected.org_admin

    page = client_for(connected.clinic_admin).get(
        reverse("orgs:clinic_edit", args=[connected.harbour.pk])
    )
    assert "Provider number of" in page.content.decode()

    assert receipt_settings_post(connected, "clinician", **{"legal_name": "X"}).status_code == 403
    assert receipt_settings_post(connected, "outsider", **{"legal_name": "X"}).status_code == 404
    assert ClinicReceiptDetails.objects.get(clinic=connected.harbour).legal_name != "X"


def test_a_wrong_abn_is_refused_with_a_message_and_changes_nothing(connected: World) -> None:
    response = receipt_settings_post(connected, "clinic_admin", business_number="51 824 753 557")
    assert response.status_code == 400
    assert "ABN: 11 digits" in response.content.decode()
    assert not ClinicReceiptDetails.objects.filter(clinic=connected.harbour).exists()
    bad_provider = receipt_settings_post(
        connected, "clinic_admin", **{f"provider_{connected.clinician.pk}": "12"}
    )
    assert bad_provider.status_code == 400
    assert not ProviderNumber.objects.exists()


@pytest.mark.parametrize(
    ("abn", "valid"),
    [
        ("51 824 753 556", True),
        ("51824753556", True),
        ("51 824 753 557", False),
        ("5182475355", False),
        ("51-824-753-556", False),
        ("", False),
    ],
)
def test_the_abn_checksum(abn: str, valid: bool) -> None:
    assert abn_is_valid(abn) is valid


def test_outside_australia_the_business_number_is_a_free_tax_id(world: World) -> None:
    world.harbour.currency = "NZD"
    assert business_number_clean(world.harbour, " GST 123-456-789 ") == "GST 123-456-789"
    with pytest.raises(ServiceError):
        business_number_clean(world.harbour, "x" * 31)
    with pytest.raises(ServiceError):
        business_number_clean(world.harbour, "12\x003")
