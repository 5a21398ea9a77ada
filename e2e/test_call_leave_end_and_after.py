"""Leave, end and after, as people expect them: the patient's Leave asks and steps out (the same
link brings them back), End call asks and ends it for everyone, and after the end no call
control remains: the patient has an end screen with Pay now for what is unpaid, the clinician a
visit summary that follows a payment made later."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from carecall.orgs.demo import CLINICIAN, demo_seed
from e2e.call_helpers import (
    confirm_in_dialog,
    end_call,
    leave_call,
    media_context,
    patient_enters,
    sign_in,
    wait_for_video,
)
from e2e.payment_helpers import payments_wired
from e2e.test_payment_in_call import _approve_and_connect, _card, _request
from testsupport.browser import screenshot_path


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=screenshot_path(f"after-{name}"))


def _call(browser: Browser, live_url: str) -> tuple[Page, Page]:
    doctor = media_context(browser).new_page()
    patient = media_context(browser).new_page()
    sign_in(doctor, live_url, CLINICIAN.email)
    doctor.get_by_role("link", name="Waiting area of Harbour GP").click()
    patient_enters(patient, live_url, "Pat", "Jones")
    doctor.get_by_role("button", name="Join Pat Jones").click()
    wait_for_video(patient)
    wait_for_video(doctor)
    return doctor, patient


def _controls(page: Page):
    return page.get_by_role("toolbar", name="Call controls")


def test_the_patients_leave_asks_then_steps_out_and_the_same_link_rejoins(
    live_url: str, browser: Browser
) -> None:
    demo_seed()
    doctor, patient = _call(browser, live_url)
    # The first join is not announced to the patient as a return.
    expect(patient.get_by_role("status").filter(has_text="is back")).to_have_count(0)

    # Stay in the call: nothing happens.
    _controls(patient).get_by_role("button", name="Leave").click()
    dialog = patient.get_by_role("dialog", name="Leave the call?")
    expect(dialog).to_contain_text("come back with this link")
    expect(dialog.get_by_role("button", name="Stay in the call")).to_be_focused()
    _shot(patient, "leave-confirm")
    patient.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(_controls(patient).get_by_role("button", name="Leave")).to_be_focused()
    expect(patient.get_by_role("list", name="People in the call")).to_be_visible()

    _controls(patient).get_by_role("button", name="Leave").click()
    confirm_in_dialog(patient, "Leave")
    expect(patient.get_by_role("heading", name="You left the call")).to_be_visible()
    expect(_controls(patient)).to_be_hidden()
    expect(
        doctor.get_by_role("status").filter(has_text="Pat Jones left the call.")
    ).to_be_attached()
    _shot(patient, "left")

    # The old link still opens the visit: it says so and offers the way back, and only that.
    patient.reload()
    expect(patient.get_by_role("heading", name="You left the call")).to_be_visible()
    expect(_controls(patient)).to_be_hidden()
    patient.get_by_role("button", name="Rejoin the call").click()
    expect(patient.get_by_role("list", name="People in the call")).to_be_visible()
    expect(doctor.locator("[data-tile]").filter(has_text="Pat Jones")).to_be_visible()
    wait_for_video(patient, more_than=0)

    # Stepped out again: the clinician's waiting area shows them as left, not lost.
    _controls(patient).get_by_role("button", name="Leave").click()
    confirm_in_dialog(patient, "Leave")
    leave_call(doctor)
    row = doctor.get_by_role("row", name=re.compile("Pat Jones"))
    expect(row).to_contain_text("left; may come back with their link")


def test_the_call_time_counts_from_admission_and_survives_a_reload(
    live_url: str, browser: Browser
) -> None:
    demo_seed()
    _doctor, patient = _call(browser, live_url)
    patient.wait_for_timeout(3500)
    patient.reload()
    expect(patient.get_by_role("list", name="People in the call")).to_be_visible()
    # A timer restarted by the reload would read 0:00 or 0:01 here.
    expect(patient.locator("[data-duration]")).to_have_text(re.compile(r"^0:0[3-9]$|^0:[1-5]\d$"))


def test_after_end_call_no_control_remains_and_a_later_payment_reaches_the_summary(
    live_url: str, browser: Browser, settings
) -> None:
    demo_seed()
    with payments_wired(settings, live_url):
        _approve_and_connect(browser, live_url)
        doctor, patient = _call(browser, live_url)
        # A description over 200 characters is refused with the count, never cut silently.
        doctor.get_by_role("button", name="Apps and tools").click()
        doctor.get_by_role("complementary").get_by_role("button", name="Request payment").click()
        doctor.get_by_label(re.compile(r"^Amount")).fill("60")
        doctor.get_by_label("Description").fill("x" * 205)
        expect(doctor.get_by_text("5 characters too many (at most 200).")).to_be_visible()
        doctor.locator("[data-request-form]").get_by_role("button", name="Request payment").click()
        expect(doctor.get_by_label("Description")).to_have_value("x" * 205)
        expect(doctor.get_by_label("Description")).to_be_focused()
        expect(doctor.get_by_text("No payments requested yet.")).to_be_visible()
        doctor.get_by_role("complementary").get_by_role(
            "button", name="Close Apps and tools"
        ).click()
        _request(doctor, "60", "Dressing change")
        expect(patient.get_by_role("button", name=re.compile("^Pay now"))).to_be_visible()

        # End call asks first; "Keep the call going" keeps it.
        _controls(doctor).get_by_role("button", name="End call").click()
        doctor.get_by_role("dialog").get_by_role("button", name="Keep the call going").click()
        expect(patient.get_by_role("list", name="People in the call")).to_be_visible()
        end_call(doctor)

        for page in (doctor, patient):
            expect(page.get_by_role("heading", name="The call has ended")).to_be_visible()
            expect(page.get_by_role("heading", name="The call has ended")).to_have_count(1)
            expect(_controls(page)).to_be_hidden()
            expect(page.locator("[data-request-form]")).to_be_hidden()
        summary = doctor.get_by_role("region", name="The call has ended")
        expect(summary).to_contain_text("You ended the call.")
        expect(patient.get_by_role("region", name="The call has ended")).to_contain_text(
            "Dr Chris Lee ended the call."
        )
        expect(summary).to_contain_text("Pat Jones")
        expect(summary).to_contain_text("Waiting for payment")
        expect(doctor.get_by_role("link", name="Back to the waiting area")).to_be_visible()
        _shot(doctor, "clinician-summary")
        _shot(patient, "patient-end")

        # The patient pays from the end screen; the clinician's summary follows.
        patient.get_by_role("button", name=re.compile("^Pay now")).click()
        patient.get_by_label("Email for your receipt").fill("pat@example.test")
        _card(patient, "4242 4242 4242 4242")
        patient.get_by_role("button", name="Pay AUD 60.00").click()
        expect(patient.locator("[data-pay-confirmation]")).to_contain_text("AUD 60.00")
        expect(summary).to_contain_text("Payment received", timeout=20000)
