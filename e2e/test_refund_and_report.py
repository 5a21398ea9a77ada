"""After the call, in real browsers against stripe_sandbox: the patient pays AUD 85.00; the clinic
admin finds it on the payments page, refunds AUD 25.00 of it, sees it partially refunded (and
the patient gets the refund email), reads the report's totals and chart, and downloads the CSV."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from email.message import EmailMessage

from django.db import connection
from playwright.sync_api import Browser, Page, expect

from carecall.orgs.demo import CLINIC_ADMIN, CLINICIAN, ORG_ADMIN, demo_seed
from carecall.orgs.models import Clinic
from carecall.payments.demo import demo_payments_seed
from carecall.payments.models import PaymentRequest, PaymentStatus
from e2e.call_helpers import confirm_in_dialog, sign_in
from e2e.payment_helpers import payments_wired
from e2e.test_payment_in_call import _approve_and_connect, _card, _into_call, _request
from testsupport.browser import screenshot_path
from testsupport.smtp import SmtpServer

PATIENT_EMAIL = "pat.jones@example.test"


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=screenshot_path(f"refund-report-{name}"), full_page=True)


def _pay(patient: Page) -> str:
    patient.get_by_role("button", name=re.compile("^Pay now")).click()
    patient.get_by_label("Email for your receipt").fill(PATIENT_EMAIL)
    _card(patient, "4242 4242 4242 4242")
    patient.get_by_role("button", name=re.compile(r"^Pay AUD ")).click()
    confirmation = patient.locator("[data-pay-confirmation]")
    expect(confirmation).to_contain_text("AUD 85.00")
    return confirmation.locator('[data-confirm="reference"]').inner_text()


def _mail(smtp: SmtpServer, subject_start: str, timeout: float = 10) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in smtp.messages:
            if PATIENT_EMAIL in str(message["To"]) and str(message["Subject"]).startswith(
                subject_start
            ):
                return message
        time.sleep(0.1)
    raise AssertionError(f"no '{subject_start}…' mail to {PATIENT_EMAIL}")


def test_admin_refunds_part_of_a_payment_then_checks_the_report_and_the_csv(
    live_url: str, browser: Browser, settings
) -> None:
    demo_seed()
    with payments_wired(settings, live_url) as (_sandbox, smtp):
        _approve_and_connect(browser, live_url)
        doctor, patient = _into_call(browser, live_url)
        _request(doctor, "85.00", "Standard consultation")
        reference = _pay(patient)
        expect(doctor.locator("[data-pay-list]")).to_contain_text("Payment received")
        _mail(smtp, "Your receipt")

        admin = browser.new_page()
        sign_in(admin, live_url, CLINIC_ADMIN.email)
        admin.get_by_role("link", name="Payments of Harbour GP", exact=True).click()
        expect(admin.get_by_role("heading", level=1)).to_have_text("Payments · Harbour GP")
        row = admin.get_by_role("row").filter(has_text="Pat Jones")
        expect(row).to_have_count(1)
        for text in (
            CLINICIAN.full_name,
            "Standard consultation",
            "AUD 85.00",
            "Paid",
            "Visa •••• 4242",
        ):
            expect(row).to_contain_text(text)
        expect(row).to_contain_text(re.compile(r"\d{4}, \d{1,2}:\d\d [AP]M \(Australia/Sydney\)"))
        expect(row.get_by_role("link", name=f"Open in Stripe {reference}")).to_have_attribute(
            "href", re.compile(r"/acct_1SbxHarbourGP001/payments/pi_")
        )
        _shot(admin, "1-payments")

        row.get_by_role("link").first.click()
        expect(admin.get_by_role("heading", level=1)).to_have_text(f"Payment {reference}")
        expect(admin.get_by_text("Left to refund: AUD 85.00")).to_be_visible()
        admin.get_by_label("Amount to refund (AUD)").fill("25.00")
        admin.get_by_label("Reason").select_option(label="Requested by the patient")
        admin.get_by_label("Note (optional, for your records)").fill("Session cut short")
        _shot(admin, "2-refund-form")
        admin.get_by_role("button", name="Refund", exact=True).click()
        # A refund asks first, saying how much goes back; Cancel refunds nothing.
        question = admin.get_by_role("dialog", name="Refund this payment?")
        expect(question).to_contain_text("AUD 25.00 goes back to the card it was paid with")
        _shot(admin, "2b-refund-confirm")
        question.get_by_role("button", name="Cancel").click()
        expect(admin.get_by_text("Left to refund: AUD 85.00")).to_be_visible()
        admin.get_by_role("button", name="Refund", exact=True).click()
        confirm_in_dialog(admin, "Refund")

        expect(admin.get_by_role("status")).to_contain_text("Refunded AUD 25.00.")
        details = admin.locator("dl")
        expect(details).to_contain_text("Partially refunded")
        expect(details).to_contain_text("AUD 25.00")
        expect(admin.get_by_text("Left to refund: AUD 60.00")).to_be_visible()
        expect(admin.locator("ol.timeline")).to_contain_text("Refund of AUD 25.00")
        _shot(admin, "3-partially-refunded")
        refund_mail = _mail(smtp, "Refund from Harbour GP")
        body = refund_mail.get_body(preferencelist=("plain",))
        assert body is not None
        assert "Harbour GP refunded AUD 25.00 of your payment of AUD 85.00." in body.get_content()

        admin.get_by_role("link", name="Payments", exact=True).click()
        expect(admin.get_by_role("row").filter(has_text="Pat Jones")).to_contain_text(
            "Partially refunded"
        )
        admin.get_by_role("link", name="Report", exact=True).click()
        totals = admin.locator('tr[data-currency="AUD"]')
        expect(totals.locator('[data-col="taken"]')).to_have_text("AUD 85.00")
        expect(totals.locator('[data-col="refunded"]')).to_have_text("AUD 25.00")
        expect(totals.locator('[data-col="net"]')).to_have_text("AUD 60.00")
        expect(totals.locator('[data-col="count"]')).to_have_text("1")
        expect(totals.locator('[data-col="average"]')).to_have_text("AUD 85.00")
        chart = admin.get_by_role("img", name=re.compile("the tallest is AUD 85.00"))
        expect(chart).to_be_visible()
        # The default period is the last 30 days: a bar a day, one of them today's takings.
        expect(chart.locator("rect.bar")).to_have_count(30)
        expect(chart.locator("rect.bar title").filter(has_text="AUD 85.00")).to_have_count(1)
        expect(admin.get_by_role("row").filter(has_text=CLINICIAN.full_name)).to_contain_text(
            "AUD 60.00"
        )
        _shot(admin, "4-report")

        admin.get_by_role("link", name="Payments", exact=True).click()
        with admin.expect_download() as download_info:
            admin.get_by_role("link", name="Export CSV").click()
        download = download_info.value
        assert download.suggested_filename == "payments-harbour-gp.csv"
        raw = download.path().read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        (line,) = list(csv.DictReader(io.StringIO(raw.decode("utf-8")[1:])))
        assert line["reference"] == reference
        assert (line["patient"], line["clinician"], line["description"]) == (
            "Pat Jones",
            CLINICIAN.full_name,
            "Standard consultation",
        )
        assert (line["currency"], line["amount"], line["refunded"], line["status"]) == (
            "AUD",
            "85.00",
            "25.00",
            "partially_refunded",
        )
        assert (line["card_brand"], line["card_last4"]) == ("visa", "4242")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+1[01]:00", line["requested_at"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+1[01]:00", line["paid_at"])
        assert line["stripe_payment_intent"].startswith("pi_")


def _in_a_thread(work: Callable[[], int]) -> int:
    """Playwright's event loop runs in the test's thread, where the after-commit broadcasts of
    the demo's services cannot call async code; a thread of its own (with its own database
    connection, closed after) runs them as the demo does."""

    def run() -> int:
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _money(text: str) -> Decimal:
    return Decimal(text.strip().removeprefix("AUD").strip().replace(",", ""))


def _report_refunded(page: Page) -> Decimal:
    page.get_by_role("link", name="Report", exact=True).click()
    return _money(page.locator('tr[data-currency="AUD"] [data-col="refunded"]').inner_text())


def test_org_admin_refunds_part_of_a_demo_payment_and_the_report_and_csv_follow(
    live_url: str, browser: Browser, settings
) -> None:
    """The demo's own history (made through stripe_sandbox as `carecall demo` makes it): the
    organisation admin refunds AUD 10.00 of Northside's latest paid consultation."""
    demo_seed()
    with payments_wired(settings, live_url) as (_sandbox, smtp):
        assert _in_a_thread(demo_payments_seed) > 0
        northside = Clinic.objects.get(slug="northside-physio")
        pr = (
            PaymentRequest.objects.filter(clinic=northside, status=PaymentStatus.PAID)
            .exclude(receipt_email="")
            .order_by("-paid_at")
            .first()
        )
        assert pr is not None and pr.receipt_email

        admin = browser.new_page()
        sign_in(admin, live_url, ORG_ADMIN.email)
        admin.get_by_role("link", name="Payments of Northside Physio", exact=True).click()
        refunded_before = _report_refunded(admin)
        admin.get_by_role("link", name="Payments", exact=True).click()
        row = admin.get_by_role("row").filter(has_text=pr.reference)
        expect(row).to_contain_text("Paid")
        row.get_by_role("link").first.click()
        expect(admin.get_by_role("heading", level=1)).to_have_text(f"Payment {pr.reference}")
        admin.get_by_label("Amount to refund (AUD)").fill("10.00")
        admin.get_by_label("Reason").select_option(label="Requested by the patient")
        admin.get_by_role("button", name="Refund", exact=True).click()
        confirm_in_dialog(admin, "Refund")
        expect(admin.get_by_role("status")).to_contain_text("Refunded AUD 10.00.")
        expect(admin.locator("dl")).to_contain_text("Partially refunded")
        _shot(admin, "5-demo-payment-refunded")

        deadline = time.monotonic() + 10
        while not any(pr.receipt_email in str(m["To"]) for m in smtp.messages):
            assert time.monotonic() < deadline, "no refund email to the demo patient"
            time.sleep(0.1)
        assert _report_refunded(admin) == refunded_before + Decimal("10.00")

        admin.get_by_role("link", name="Payments", exact=True).click()
        with admin.expect_download() as download_info:
            admin.get_by_role("link", name="Export CSV").click()
        raw = download_info.value.path().read_bytes()
        lines = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
        (line,) = [row for row in lines if row["reference"] == pr.reference]
        assert (line["refunded"], line["status"]) == ("10.00", "partially_refunded")
