"""The entry page's camera and microphone check: clear messages when permission is refused, no
device exists or the page may not use media at all; a level meter that moves; device pickers; and
the chosen devices used in the call."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from carecall.orgs.demo import demo_seed
from e2e.call_helpers import media_context, patient_enters

REJECT_GET_USER_MEDIA = """(() => {
  const reject = () => Promise.reject(new DOMException("refused by the test", "%s"));
  navigator.mediaDevices.getUserMedia = reject;
})();"""

NO_MEDIA_DEVICES = """Object.defineProperty(Navigator.prototype, "mediaDevices", {
  get: () => undefined, configurable: true,
});"""

# Every AudioContext starts suspended, as under a strict autoplay policy: only resume() helps.
SUSPENDED_AUDIO = """(() => {
  const Real = window.AudioContext;
  window.AudioContext = class extends Real {
    constructor(...args) { super(...args); this.suspend(); }
  };
})();"""


def _entry_page(browser: Browser, live_url: str, init_script: str | None = None) -> Page:
    demo_seed()
    context = media_context(browser)
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.goto(f"{live_url}/c/harbour-gp/")
    return page


def _device_status(page: Page) -> Locator:
    return page.get_by_role("region", name="Check your camera and microphone").get_by_role("status")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ("NotAllowedError", "CareCall may not use your camera or microphone."),
        ("NotFoundError", "No camera or microphone was found."),
    ],
)
def test_a_refused_or_missing_device_is_explained(
    live_url: str, browser: Browser, error: str, message: str
) -> None:
    page = _entry_page(browser, live_url, REJECT_GET_USER_MEDIA % error)
    expect(_device_status(page)).to_contain_text(message)
    page.get_by_role("button", name="Check again").click()
    expect(_device_status(page)).to_contain_text(message)
    page.context.close()


def test_a_page_without_media_devices_says_so(live_url: str, browser: Browser) -> None:
    # What plain http on another host looks like: navigator.mediaDevices is missing.
    page = _entry_page(browser, live_url, NO_MEDIA_DEVICES)
    expect(_device_status(page)).to_contain_text(
        "This browser offers no camera or microphone to this page."
    )
    page.context.close()


def _highest_level(page: Page, seconds: float) -> float:
    meter = page.get_by_label("Microphone level")
    deadline, highest = time.monotonic() + seconds, 0.0
    while time.monotonic() < deadline:
        highest = max(highest, float(meter.evaluate("(m) => m.value")))
        page.wait_for_timeout(50)
    return highest


@pytest.mark.parametrize("audio", ["running", "suspended"])
def test_the_level_meter_moves_with_the_fake_microphone(
    live_url: str, browser: Browser, audio: str
) -> None:
    page = _entry_page(browser, live_url, SUSPENDED_AUDIO if audio == "suspended" else None)
    expect(_device_status(page)).to_contain_text("Your camera and microphone work")
    # Chromium's fake microphone beeps about once a second.
    assert _highest_level(page, 4) > 5
    page.context.close()


def test_the_pickers_list_the_devices_and_the_choice_is_used_in_the_call(
    live_url: str, browser: Browser
) -> None:
    page = _entry_page(browser, live_url)
    expect(_device_status(page)).to_contain_text("Your camera and microphone work")
    camera = page.get_by_label("Camera", exact=True)
    microphone = page.get_by_label("Microphone", exact=True)
    expect(camera.locator("option")).to_have_text(
        ["fake_device_0", "fake_device_1", "fake_device_2"]
    )
    expect(microphone.locator("option").first).to_have_text("Fake Default Audio Input")
    assert microphone.locator("option").count() >= 2

    camera.select_option(label="fake_device_2")
    microphone.select_option(label="Fake Audio Input 1")
    expect(_device_status(page)).to_contain_text("Your camera and microphone work")
    preview = "() => document.querySelector('[data-preview]').srcObject.getVideoTracks()[0].label"
    assert page.evaluate(preview) == "fake_device_2"

    # The waiting screen (and later the call) uses the devices chosen here.
    patient_enters(page, live_url, "Pat", "Jones", goto=False)
    using = """() => window.carecallCall.stream.getTracks().map((t) => t.label).sort()"""
    deadline = time.monotonic() + 10
    while page.evaluate("() => !window.carecallCall.stream") and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert page.evaluate(using) == ["Fake Audio Input 1", "fake_device_2"]
    expect(page.get_by_label("Camera", exact=True)).to_have_value(camera_value(page))
    page.context.close()


def camera_value(page: Page) -> str:
    value: str = page.evaluate(
        "() => window.carecallCall.stream.getVideoTracks()[0].getSettings().deviceId"
    )
    return value
