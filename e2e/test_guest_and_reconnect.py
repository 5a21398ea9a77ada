"""Invite participant brings a third person in by a single-use link; a dropped websocket
reconnects without leaving the call."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Page, expect

from carecall.orgs.demo import CLINICIAN, demo_seed
from e2e.call_helpers import media_context, patient_enters, sign_in, wait_for_video
from testsupport.browser import screenshot_path

PEERS_CONNECTED = """() => [...window.carecallCall.peers.values()]
  .filter((p) => p.pc.connectionState === "connected").length"""


def _until(page: Page, predicate: str, timeout: float = 15) -> None:
    """Poll a page function (wait_for_function would need eval, which our CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, f"never true: {predicate}"
        page.wait_for_timeout(100)


def test_a_guest_joins_by_link_and_everyone_sees_everyone(live_url: str, browser: Browser) -> None:
    demo_seed()
    doctor = media_context(browser).new_page()
    patient = media_context(browser).new_page()
    sign_in(doctor, live_url, CLINICIAN.email)
    doctor.goto(f"{live_url}/")
    doctor.get_by_role("link", name="Waiting area of Harbour GP").click()
    patient_enters(patient, live_url, "Pat", "Jones")
    doctor.get_by_role("button", name="Join Pat Jones").click()
    expect(doctor.get_by_role("list", name="People in the call")).to_be_visible()
    wait_for_video(doctor)

    doctor.get_by_role("button", name="Invite participant").click()
    link = doctor.get_by_label("Guest link (works once)")
    expect(link).to_have_value(re.compile(r"/j/[A-Za-z0-9_-]+/$"))
    url = link.input_value()

    carer_context = media_context(browser)
    carer = carer_context.new_page()
    carer.goto(url)
    carer.get_by_label("Your name").fill("Carol Carer")
    carer.get_by_role("button", name="Join the call").click()
    expect(carer.get_by_role("list", name="People in the call")).to_be_visible()

    # Full mesh: the guest receives two videos, and each of the others one more.
    for page in (doctor, patient, carer):
        expect(page.locator("[data-tile]")).to_have_count(3, timeout=15000)
        _until(page, f"() => ({PEERS_CONNECTED})() === 2")
    wait_for_video(carer)
    expect(doctor.locator("[data-tile]").filter(has_text="Carol Carer")).to_be_visible()
    carer.screenshot(path=screenshot_path("call-three-people"), full_page=True)

    # The link worked once: someone else opening it gets nothing.
    stranger = browser.new_page()
    answer = stranger.goto(url)
    assert answer is not None and answer.status == 404
    stranger.close()
    carer_context.close()


def test_a_dropped_websocket_reconnects_and_the_call_goes_on(
    live_url: str, browser: Browser
) -> None:
    demo_seed()
    doctor = media_context(browser).new_page()
    patient = media_context(browser).new_page()
    sign_in(doctor, live_url, CLINICIAN.email)
    doctor.goto(f"{live_url}/")
    doctor.get_by_role("link", name="Waiting area of Harbour GP").click()
    patient_enters(patient, live_url, "Pat", "Jones")
    doctor.get_by_role("button", name="Join Pat Jones").click()
    expect(doctor.get_by_role("list", name="People in the call")).to_be_visible()
    before = wait_for_video(patient)

    # The network blinks: the patient's websocket closes abnormally.
    patient.evaluate("() => { window.firstSocket = window.carecallCall.ws; }")
    patient.evaluate("() => window.carecallCall.ws.close(4000, 'network change')")
    patient_tile = doctor.locator("[data-tile]").filter(has_text="Pat Jones")
    # The signalling comes back on a new socket, in the same call, without a reload...
    _until(
        patient,
        "() => window.carecallCall.ws !== window.firstSocket"
        " && window.carecallCall.ws.readyState === 1",
    )
    expect(patient_tile).not_to_contain_text("Connection lost")
    expect(patient.get_by_role("list", name="People in the call")).to_be_visible()
    # ...and media kept flowing through it all.
    assert wait_for_video(patient, more_than=before + 10) > before
    assert patient.evaluate(f"({PEERS_CONNECTED})()") == 1
