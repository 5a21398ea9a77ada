"""The seed, start to finish, in real browsers against stripe_sandbox: enable the app, connect
Stripe, take AUD 85.00 in a call, confirmation + receipt + Payment received."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from carecall.orgs.demo import CLINIC_ADMIN, CLINICIAN, OPERATOR, demo_seed
from e2e.call_helpers import media_context, patient_enters, sign_in
from e2e.payment_helpers import (
    challenge,
    challenge_button,
    fill_card,
    payments_wired,
    three_d_secure,
)
from testsupport.browser import screenshot_path


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=screenshot_path(f"payment-{name}"), full_page=True)


def _approve_and_connect(browser: Browser, live_url: str) -> None:
    operator = browser.new_page()
    sign_in(operator, live_url, OPERATOR.email)
    operator.get_by_role("link", name="App requests").first.click()
    request = operator.get_by_role("article").filter(has_text="Payment Gateway for Demo Health")
    expect(request).to_contain_text("Harbour GP")
    _shot(operator, "1-operator-queue")
    request.get_by_label("Comment to the requester").fill("Welcome aboard.")
    request.get_by_role("button", name="Approve").click()
    expect(operator.get_by_role("status")).to_contain_text("Approved")
    operator.close()

    admin = browser.new_page()
    sign_in(admin, live_url, CLINIC_ADMIN.email)
    admin.get_by_role("link", name="Customer payments of Harbour GP").click()
    admin.get_by_role("button", name="Go to Stripe").click()
    admin.get_by_label(re.compile("Harbour GP Pty Ltd")).check()
    _shot(admin, "2-stripe-consent")
    admin.get_by_role("button", name="Connect").click()
    expect(admin.get_by_role("status")).to_contain_text("Connected Harbour GP Pty Ltd")
    expect(admin.get_by_role("main")).to_contain_text("acct_1SbxHarbourGP001")
    expect(admin.get_by_role("main")).to_contain_text("AUD")
    _shot(admin, "3-connected")
    admin.close()


def _into_call(browser: Browser, live_url: str) -> tuple[Page, Page]:
    doctor = media_context(browser).new_page()
    patient = media_context(browser).new_page()
    sign_in(doctor, live_url, CLINICIAN.email)
    doctor.goto(f"{live_url}/")
    doctor.get_by_role("link", name="Waiting area of Harbour GP").click()
    patient_enters(patient, live_url, "Pat", "Jones")
    doctor.get_by_role("button", name="Join Pat Jones").click()
    expect(patient.get_by_role("list", name="People in the call")).to_be_visible()
    return doctor, patient


def _request(doctor: Page, amount: str, description: str) -> None:
    doctor.get_by_role("button", name="Apps and tools").click()
    # The tool's button is the first "Request payment" in the panel (the form's submit follows).
    apps = doctor.get_by_role("complementary", name="Apps and tools")
    apps.get_by_role("button", name="Request payment").first.click()
    doctor.get_by_label(re.compile(r"^Amount")).fill(amount)
    doctor.get_by_label("Description").fill(description)
    doctor.locator("[data-request-form]").get_by_role("button", name="Request payment").click()
    item = doctor.locator("[data-pay-list] li").filter(has_text=description)
    expect(item).to_contain_text("Waiting for payment")
    expect(item).to_contain_text("Pat Jones")


def _card(patient: Page, number: str) -> None:
    # In the Payment Element's cross-origin frame, by label (e2e/payment_helpers.py).
    fill_card(patient, number)


def test_seed_flow_operator_approves_admin_connects_patient_pays_receipt_arrives(
    live_url: str, browser: Browser, settings
) -> None:
    demo_seed()
    with payments_wired(settings, live_url) as (_sandbox, smtp):
        _approve_and_connect(browser, live_url)
        doctor, patient = _into_call(browser, live_url)
        _request(doctor, "85.00", "Standard consultation")
        _shot(doctor, "4-requested")

        payer = patient.locator("[data-payer]")
        expect(payer).to_contain_text("AUD 85.00")
        expect(payer).to_contain_text("Standard consultation")
        patient.get_by_role("button", name=re.compile("^Pay now")).click()
        patient.get_by_label("Email for your receipt").fill("pat.jones@example.test")
        _card(patient, "4242 4242 4242 4242")
        _shot(patient, "5-pay-form")
        patient.get_by_role("button", name=re.compile(r"^Pay AUD ")).click()

        confirmation = patient.locator("[data-pay-confirmation]")
        expect(confirmation).to_be_visible()
        expect(confirmation).to_contain_text("AUD 85.00")
        expect(confirmation).to_contain_text("Standard consultation")
        expect(confirmation).to_contain_text("Harbour GP")
        expect(confirmation).to_contain_text("Visa •••• 4242")
        reference = confirmation.locator('[data-confirm="reference"]').inner_text()
        assert re.fullmatch(r"CC-[A-Z2-9]{6}", reference)
        _shot(patient, "6-confirmation")

        expect(doctor.locator("[data-pay-list]")).to_contain_text("Payment received")
        _shot(doctor, "7-payment-received")

        receipt = smtp.wait_for("pat.jones@example.test")
        assert reference in str(receipt["Subject"])
        body = receipt.get_body(preferencelist=("plain",))
        html = receipt.get_body(preferencelist=("html",))
        assert body is not None and html is not None
        text = body.get_content()
        for expected in (
            "AUD 85.00",
            "Standard consultation",
            "Harbour GP",
            "4242",
            "reception@harbourgp.test",
        ):
            assert expected in text


def test_a_declined_card_shows_why_then_another_card_pays(
    live_url: str, browser: Browser, settings
) -> None:
    demo_seed()
    with payments_wired(settings, live_url):
        _approve_and_connect(browser, live_url)
        doctor, patient = _into_call(browser, live_url)
        _request(doctor, "40", "Follow-up")
        patient.get_by_role("button", name=re.compile("^Pay now")).click()
        patient.get_by_label("Email for your receipt").fill("pat@example.test")
        _card(patient, "4000 0000 0000 0002")
        patient.get_by_role("button", name=re.compile(r"^Pay AUD ")).click()
        expect(patient.locator("[data-pay-form-error]")).to_have_text(
            "Your card was declined. Check the card details or use another card, then press Pay again."
        )
        # The clinician is told too (Stripe's payment_failed, re-read by CareCall), and how it goes on.
        banner = doctor.get_by_role("region", name="Payment not completed")
        expect(banner).to_contain_text("AUD 40.00 — Follow-up")
        expect(banner).to_contain_text("Pat Jones can try again.")
        _shot(patient, "8-declined")
        _card(patient, "4242 4242 4242 4242")
        patient.get_by_role("button", name=re.compile(r"^Pay AUD ")).click()
        expect(patient.locator("[data-pay-confirmation]")).to_contain_text("AUD 40.00")
        expect(doctor.locator("[data-pay-list]")).to_contain_text("Payment received")


def test_three_d_secure_challenge_then_paid(live_url: str, browser: Browser, settings) -> None:
    demo_seed()
    with payments_wired(settings, live_url):
        _approve_and_connect(browser, live_url)
        doctor, patient = _into_call(browser, live_url)
        _request(doctor, "120.50", "Long consultation")
        patient.get_by_role("button", name=re.compile("^Pay now")).click()
        patient.get_by_label("Email for your receipt").fill("pat@example.test")
        _card(patient, "4000 0025 0000 3155")
        patient.get_by_role("button", name=re.compile(r"^Pay AUD ")).click()
        expect(challenge(patient)).to_be_visible()
        expect(challenge_button(patient, "Complete")).to_be_focused()
        _shot(patient, "9-3ds-challenge")
        three_d_secure(patient, "Complete")
        expect(patient.locator("[data-pay-confirmation]")).to_contain_text("AUD 120.50")
        expect(doctor.locator("[data-pay-list]")).to_contain_text("Payment received")
