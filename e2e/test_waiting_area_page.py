"""The clinic's waiting-area page: sound and browser-notification alerts on a new caller (the
sound choice remembered), and copying the patients' link."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, BrowserContext, Page, expect

from carecall.orgs.demo import CLINIC_ADMIN, CLINICIAN, demo_seed
from e2e.call_helpers import media_context, patient_enters, sign_in

# Notifications are "allowed" and recorded; every oscillator the page starts (a chime) counted.
ALERT_SPIES = """(() => {
  window.shownNotifications = [];
  window.Notification = class {
    static permission = "granted";
    static requestPermission() { return Promise.resolve("granted"); }
    constructor(title, options) { window.shownNotifications.push([title, options && options.body]); }
  };
  window.chimes = 0;
  const create = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () {
    window.chimes += 1;
    return create.call(this);
  };
})();"""


def _waiting_area(browser: Browser, live_url: str, email: str, **options: object) -> Page:
    context: BrowserContext = browser.new_context(**options)  # type: ignore[arg-type]
    context.add_init_script(ALERT_SPIES)
    page = context.new_page()
    sign_in(page, live_url, email)
    page.get_by_role("link", name="Waiting area of Harbour GP").click()
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    return page


def _caller(browser: Browser, live_url: str, first: str) -> None:
    context = media_context(browser)
    patient_enters(context.new_page(), live_url, first, "Jones")


def test_a_new_caller_chimes_and_notifies_and_the_sound_choice_is_remembered(
    live_url: str, browser: Browser
) -> None:
    demo_seed()
    doctor = _waiting_area(browser, live_url, CLINICIAN.email)
    sound = doctor.get_by_role("button", name=re.compile("^Sound alerts"))
    expect(sound).to_have_attribute("aria-pressed", "false")
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "true")
    expect(sound).to_have_text("Sound alerts: on")
    assert doctor.evaluate("() => window.chimes") == 1  # a sample chime on switching on

    _caller(browser, live_url, "Pat")
    expect(doctor.get_by_role("row", name=re.compile("Pat Jones"))).to_be_visible()
    expect(doctor.get_by_role("status").filter(has_text="New caller: Pat Jones.")).to_be_attached()
    assert doctor.evaluate("() => window.chimes") == 2
    assert doctor.evaluate("() => window.shownNotifications") == [
        ["New caller in the waiting area", "Pat Jones"]
    ]

    # The choice survives a reload (localStorage): the next caller chimes too.
    doctor.reload()
    expect(doctor.get_by_role("status").filter(has_text="Live")).to_be_visible()
    expect(sound).to_have_attribute("aria-pressed", "true")
    _caller(browser, live_url, "Sam")
    expect(doctor.get_by_role("row", name=re.compile("Sam Jones"))).to_be_visible()
    expect(doctor.get_by_role("status").filter(has_text="New caller: Sam Jones.")).to_be_attached()
    assert doctor.evaluate("() => window.chimes") == 1
    assert len(doctor.evaluate("() => window.shownNotifications")) == 1

    # Sound off (also remembered): the notification still comes, the chime does not.
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "false")
    doctor.reload()
    expect(sound).to_have_attribute("aria-pressed", "false")
    _caller(browser, live_url, "Kim")
    expect(doctor.get_by_role("status").filter(has_text="New caller: Kim Jones.")).to_be_attached()
    assert doctor.evaluate("() => window.chimes") == 0
    assert doctor.evaluate("() => window.shownNotifications") == [
        ["New caller in the waiting area", "Kim Jones"]
    ]


def _copy_and_hear(page: Page, announced: str) -> None:
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("status").filter(has_text=announced)).to_be_attached()


def test_the_patients_link_is_copied_from_the_waiting_area_and_the_settings(
    live_url: str, browser: Browser
) -> None:
    demo_seed()
    page = _waiting_area(
        browser, live_url, CLINIC_ADMIN.email, permissions=["clipboard-read", "clipboard-write"]
    )
    link = page.get_by_label("Patients' link")
    expect(link).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/c/harbour-gp/$"))
    _copy_and_hear(page, "Link copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == link.input_value()

    page.get_by_role("link", name="Waiting area settings").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Waiting area settings")
    page.evaluate("() => navigator.clipboard.writeText('')")
    _copy_and_hear(page, "Link copied")
    assert page.evaluate("() => navigator.clipboard.readText()").endswith("/c/harbour-gp/")


def test_without_the_clipboard_the_link_is_selected_for_copying(
    live_url: str, browser: Browser
) -> None:
    demo_seed()
    page = _waiting_area(browser, live_url, CLINIC_ADMIN.email)
    page.evaluate(
        "() => { navigator.clipboard.writeText = () => Promise.reject(new Error('denied')); }"
    )
    _copy_and_hear(page, "The link is selected")
    selected = """() => {
      const field = document.activeElement;
      return field.id === "entry-link" && field.selectionStart === 0
        && field.selectionEnd === field.value.length;
    }"""
    assert page.evaluate(selected)
