"""The seed's whole flow with the patient on a phone (390×844, touch, every step a tap) and the
clinician at a desktop: each screen on the way is checked as a person meets it (nothing scrolls
sideways, nothing covers a control, touch targets of 44×44 px, what is hidden stays hidden),
with a declined card and a failed, then passed, 3-D Secure challenge on the way."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, BrowserContext, Page, expect

from carecall.orgs.demo import CLINICIAN, demo_seed
from e2e.call_helpers import end_call, sign_in, wait_for_video
from e2e.layout_checks import check_page_layout
from e2e.payment_helpers import card_fields, challenge, payments_wired, three_d_secure
from e2e.test_payment_in_call import _approve_and_connect, _card


def _phone(browser: Browser) -> BrowserContext:
    return browser.new_context(
        permissions=["camera", "microphone"],
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )


def _desktop(browser: Browser) -> BrowserContext:
    return browser.new_context(
        permissions=["camera", "microphone"], viewport={"width": 1280, "height": 800}
    )


def _in_view(page: Page, name: str) -> None:
    """The control is on screen without scrolling."""
    box = page.get_by_role("button", name=name).bounding_box()
    assert box is not None
    viewport = page.viewport_size
    assert viewport is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (name, box)


def _request(doctor: Page, amount: str, description: str) -> None:
    doctor.get_by_role("button", name="Apps and tools").click()
    doctor.get_by_role("complementary", name="Apps and tools").get_by_role(
        "button", name="Request payment"
    ).click()
    doctor.get_by_label(re.compile(r"^Amount")).fill(amount)
    doctor.get_by_label("Description").fill(description)
    doctor.locator("[data-request-form]").get_by_role("button", name="Request payment").click()
    expect(doctor.locator("[data-pay-list] li").filter(has_text=description)).to_be_visible()


def test_patient_on_a_phone_pays_in_the_call_with_a_decline_and_3ds_on_the_way(
    live_url: str, browser: Browser, settings
) -> None:
    demo_seed()
    with payments_wired(settings, live_url):
        _approve_and_connect(browser, live_url)
        doctor = _desktop(browser).new_page()
        patient = _phone(browser).new_page()
        sign_in(doctor, live_url, CLINICIAN.email)
        doctor.get_by_role("link", name="Waiting area of Harbour GP").click()

        # Entry, with the device check, on the phone.
        patient.goto(f"{live_url}/c/harbour-gp/")
        expect(patient.get_by_text("Your camera and microphone work")).to_be_visible()
        check_page_layout(patient, "phone-1-entry")
        patient.get_by_label("First name").fill("Pat")
        patient.get_by_label("Last name").fill("Jones")
        patient.get_by_label("I accept the clinic's terms").tap()
        patient.get_by_role("button", name="Enter the waiting area").tap()
        expect(patient.get_by_role("heading", name="You are in the waiting area")).to_be_visible()
        check_page_layout(patient, "phone-2-waiting")

        doctor.get_by_role("button", name="Join Pat Jones").click()
        wait_for_video(patient)
        wait_for_video(doctor)
        check_page_layout(patient, "phone-3-call")
        # Nothing for a patient to open: no Apps and tools button leading to "no tools".
        controls = patient.get_by_role("toolbar", name="Call controls")
        expect(controls.get_by_role("button", name="Mute")).to_be_visible()
        expect(controls.get_by_role("button", name="Apps and tools")).to_have_count(0)
        check_page_layout(doctor, "desktop-3-call")

        # The request arrives as a card over the call, in view, announced.
        _request(doctor, "85", "Standard consultation")
        check_page_layout(doctor, "desktop-4-requested")
        card = patient.locator("[data-payer-list] li").filter(has_text="Standard consultation")
        expect(card).to_contain_text("AUD 85.00")
        expect(card).to_contain_text("Harbour GP")
        expect(
            patient.get_by_role("status").filter(has_text="Harbour GP asks you to pay AUD 85.00")
        ).to_be_attached()
        _in_view(patient, "Pay now: AUD 85.00, Standard consultation")
        check_page_layout(patient, "phone-4-card")

        # Declined first: the sheet says why and how to go on.
        patient.get_by_role("button", name=re.compile("^Pay now")).tap()
        sheet = patient.get_by_role("dialog", name="Pay Harbour GP")
        expect(sheet).to_be_visible()
        patient.get_by_label("Email for your receipt").fill("pat.jones@example.test")
        # Nothing typed yet: each field says what it lacks, once; the sheet says where to look.
        sheet.get_by_role("button", name="Pay AUD 85.00").tap()
        expect(sheet.get_by_role("alert")).to_have_text(
            "Check the card details above, then press Pay again."
        )
        expect(card_fields(patient).get_by_text("Your postcode is incomplete.")).to_have_count(1)
        _card(patient, "4000 0000 0000 0002")
        check_page_layout(patient, "phone-5-sheet")
        sheet.get_by_role("button", name="Pay AUD 85.00").tap()
        expect(sheet.get_by_role("alert")).to_contain_text("Your card was declined.")
        expect(sheet.get_by_role("alert")).to_contain_text("use another card")
        check_page_layout(patient, "phone-6-declined")

        # 3-D Secure failed, then passed.
        _card(patient, "4000 0025 0000 3155")
        sheet.get_by_role("button", name="Pay AUD 85.00").tap()
        expect(challenge(patient)).to_be_visible()
        check_page_layout(patient, "phone-7-3ds")
        three_d_secure(patient, "Fail", tap=True)
        expect(sheet.get_by_role("alert")).to_contain_text("try again")
        sheet.get_by_role("button", name="Pay AUD 85.00").tap()
        three_d_secure(patient, "Complete", tap=True)

        confirmation = patient.get_by_role("region", name="Payment confirmed")
        expect(confirmation).to_be_visible()
        expect(confirmation).to_contain_text("AUD 85.00")
        expect(confirmation).to_contain_text("Visa •••• 3155")
        reference = confirmation.locator('[data-confirm="reference"]').inner_text()
        check_page_layout(patient, "phone-8-confirmed")
        # The printable receipt, from the confirmation.
        with patient.context.expect_page() as opened:
            confirmation.get_by_role("link", name="View receipt").tap()
        receipt = opened.value
        expect(receipt.get_by_role("heading", name=f"Receipt {reference}")).to_be_visible()
        expect(receipt.get_by_role("main")).to_contain_text("Pat Jones")
        expect(receipt.get_by_role("main")).to_contain_text("Dr Chris Lee")
        expect(receipt.get_by_role("main")).to_contain_text("Total paid")
        check_page_layout(receipt, "phone-8b-receipt")
        receipt.close()

        # The clinician: Payment received, prominent, with amount, card and reference.
        banner = doctor.get_by_role("region", name="Payment received")
        expect(banner).to_contain_text("AUD 85.00 — Standard consultation")
        expect(banner).to_contain_text("Visa •••• 3155")
        expect(banner).to_contain_text(reference)
        check_page_layout(doctor, "desktop-8-received")

        patient.get_by_role("button", name="Done").tap()
        expect(sheet).to_be_hidden()
        expect(patient.locator("[data-payer-list]")).to_contain_text(f"Paid · {reference}")

        end_call(doctor)
        expect(patient.get_by_role("heading", name="The call has ended")).to_be_visible()
        check_page_layout(patient, "phone-9-ended")
        check_page_layout(doctor, "desktop-9-summary")
        # The link afterwards: the page for paying later, with what was paid.
        patient.reload()
        expect(patient.get_by_role("heading", name="This consultation has ended")).to_be_visible()
        expect(patient.locator("[data-payer-list]")).to_contain_text(f"Paid · {reference}")
        check_page_layout(patient, "phone-10-pay-later")
