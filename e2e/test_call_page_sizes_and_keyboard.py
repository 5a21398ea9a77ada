"""The call page at every size a patient or clinician uses (phone to large desktop): nothing
scrolls sideways, nothing covers a control, hidden stays hidden, axe-clean; with the payment
card, the pay sheet and the Apps and tools panel open. And the request, pay and confirmation
done with the keyboard alone (Tab, Enter, Space, Escape)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from carecall.orgs.demo import CLINICIAN, demo_seed
from e2e.call_helpers import patient_enters, sign_in, wait_for_video
from e2e.layout_checks import check_page_layout
from e2e.payment_helpers import payments_wired
from e2e.test_payment_in_call import _approve_and_connect, _card

SIZES = [(360, 640), (390, 844), (768, 1024), (1280, 800), (1920, 1080)]


def _call(browser: Browser, live_url: str, *, touch: bool) -> tuple[Page, Page]:
    doctor = browser.new_context(permissions=["camera", "microphone"]).new_page()
    patient = browser.new_context(
        permissions=["camera", "microphone"],
        viewport={"width": 360, "height": 640},
        is_mobile=touch,
        has_touch=touch,
    ).new_page()
    sign_in(doctor, live_url, CLINICIAN.email)
    doctor.get_by_role("link", name="Waiting area of Harbour GP").click()
    patient_enters(patient, live_url, "Pat", "Jones")
    doctor.get_by_role("button", name="Join Pat Jones").click()
    wait_for_video(patient)
    return doctor, patient


def _tab_to(page: Page, target) -> None:
    """Press Tab until `target` has the focus, as a keyboard user would."""
    for _ in range(40):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    expect(target).to_be_focused()


def _open_tool(doctor: Page) -> None:
    doctor.get_by_role("button", name="Apps and tools").click()
    apps = doctor.get_by_role("complementary", name="Apps and tools")
    apps.get_by_role("button", name="Request payment").first.click()
    expect(doctor.get_by_label(re.compile(r"^Amount"))).to_be_focused()


def test_the_call_page_holds_at_every_size_with_card_sheet_and_panel_open(
    live_url: str, browser: Browser, settings
) -> None:
    demo_seed()
    with payments_wired(settings, live_url):
        _approve_and_connect(browser, live_url)
        doctor, patient = _call(browser, live_url, touch=False)
        _open_tool(doctor)
        doctor.get_by_label(re.compile(r"^Amount")).fill("85")
        doctor.get_by_label("Description").fill("Standard consultation")
        doctor.locator("[data-request-form]").get_by_role("button", name="Request payment").click()
        expect(patient.get_by_role("button", name=re.compile("^Pay now"))).to_be_visible()

        for width, height in SIZES:
            for page in (doctor, patient):
                page.set_viewport_size({"width": width, "height": height})
            tag = f"{width}x{height}"
            check_page_layout(doctor, f"sizes-clinician-panel-{tag}")
            check_page_layout(patient, f"sizes-patient-card-{tag}")
            patient.get_by_role("button", name=re.compile("^Pay now")).click()
            expect(patient.get_by_role("dialog", name="Pay Harbour GP")).to_be_visible()
            check_page_layout(patient, f"sizes-patient-sheet-{tag}")
            patient.get_by_role("dialog").get_by_role("button", name="Not now").click()
            expect(patient.get_by_role("dialog")).to_have_count(0)


def test_request_pay_and_confirmation_with_the_keyboard_alone(
    live_url: str, browser: Browser, settings
) -> None:
    demo_seed()
    with payments_wired(settings, live_url):
        _approve_and_connect(browser, live_url)
        doctor, patient = _call(browser, live_url, touch=False)
        patient.set_viewport_size({"width": 1280, "height": 800})

        # Clinician: Tab to Apps and tools, Enter; the tool with Space; type; Enter submits.
        toolbar = doctor.get_by_role("toolbar", name="Call controls")
        _tab_to(doctor, toolbar.get_by_role("button", name="Apps and tools"))
        doctor.keyboard.press("Enter")
        apps = doctor.get_by_role("complementary", name="Apps and tools")
        _tab_to(doctor, apps.get_by_role("button", name="Request payment").first)
        doctor.keyboard.press("Space")
        expect(doctor.get_by_label(re.compile(r"^Amount"))).to_be_focused()
        doctor.keyboard.type("85")
        _tab_to(doctor, doctor.get_by_label("Description"))
        doctor.keyboard.type("Standard consultation")
        _tab_to(
            doctor,
            doctor.locator("[data-request-form]").get_by_role("button", name="Request payment"),
        )
        doctor.keyboard.press("Enter")
        expect(doctor.locator("[data-pay-list]")).to_contain_text("Standard consultation")

        # Patient: Tab to Pay now, Enter; the sheet takes focus; Escape closes it, focus returns.
        pay_now = patient.get_by_role("button", name=re.compile("^Pay now"))
        expect(pay_now).to_be_visible()
        _tab_to(patient, pay_now)
        patient.keyboard.press("Enter")
        email = patient.get_by_label("Email for your receipt")
        expect(email).to_be_focused()
        patient.keyboard.press("Escape")
        expect(patient.get_by_role("dialog")).to_have_count(0)
        expect(pay_now).to_be_focused()

        patient.keyboard.press("Enter")
        expect(email).to_be_focused()
        patient.keyboard.type("pat@example.test")
        _card(patient, "4242 4242 4242 4242")
        _tab_to(patient, patient.get_by_role("button", name="Pay AUD 85.00"))
        patient.keyboard.press("Enter")
        confirmation = patient.get_by_role("region", name="Payment confirmed")
        expect(confirmation).to_be_focused()
        patient.keyboard.press("Tab")
        expect(confirmation.get_by_role("link", name="View receipt")).to_be_focused()
        _tab_to(patient, patient.get_by_role("button", name="Done"))
        patient.keyboard.press("Space")
        expect(patient.get_by_role("dialog")).to_have_count(0)
        expect(doctor.get_by_role("region", name="Payment received")).to_contain_text("AUD 85.00")
