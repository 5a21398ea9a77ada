"""The waiting area's live socket (core/socket.js, shared with the call): one ping timer however
often it reconnects, a socket that stops answering pings replaced, data that is not a message
ignored; and the call page without test hooks when the setting is off."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from carecall.orgs.demo import CLINICIAN, demo_seed
from e2e.call_helpers import media_context, patient_enters, sign_in, until

# Every repeating timer the page keeps, and every socket it opens; a socket's pongs are dropped
# while window.dropPongs is on (a half-dead network path: the socket looks open, nothing comes
# back), and window.garbage(text) hands the page's handler data that is not a message.
SPIES = """(() => {
  window.intervals = new Set();
  const setI = window.setInterval, clearI = window.clearInterval;
  window.setInterval = (...args) => { const id = setI(...args); window.intervals.add(id); return id; };
  window.clearInterval = (id) => { window.intervals.delete(id); clearI(id); };
  window.sockets = [];
  window.dropPongs = false;
  window.errors = [];
  window.addEventListener("error", (event) => window.errors.push(String(event.message)));
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.sockets.push(this); }
    set onmessage(handler) {
      this.handler = handler;
      super.onmessage = handler && ((event) => {
        if (window.dropPongs && event.data.includes('"pong"')) return;
        handler.call(this, event);
      });
    }
    get onmessage() { return super.onmessage; }
  };
  window.garbage = (text) => {
    const socket = window.sockets[window.sockets.length - 1];
    socket.handler(new MessageEvent("message", { data: text }));
  };
})();"""

OPEN_SOCKETS = "() => window.sockets.filter((s) => s.readyState === 1).length"


def _waiting_area(browser: Browser, live_url: str) -> Page:
    context = browser.new_context()
    context.add_init_script(SPIES)
    page = context.new_page()
    sign_in(page, live_url, CLINICIAN.email)
    page.get_by_role("link", name="Waiting area of Harbour GP").click()
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    return page


def test_the_waiting_area_keeps_one_repeating_timer_however_often_it_reconnects(
    live_url: str, browser: Browser
) -> None:
    demo_seed()
    page = _waiting_area(browser, live_url)
    timers = page.evaluate("() => window.intervals.size")
    for n in range(2, 5):
        page.evaluate("() => window.sockets[window.sockets.length - 1].close(4000, 'gone')")
        until(
            page, f"() => window.sockets.length === {n} && window.sockets[{n - 1}].readyState === 1"
        )
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    # Three reconnects later: no timer added (each connect used to add a ping interval).
    assert page.evaluate("() => window.intervals.size") == timers == 1
    assert page.evaluate(OPEN_SOCKETS) == 1


def test_a_waiting_area_socket_that_stops_answering_pings_is_replaced(
    live_url: str, browser: Browser
) -> None:
    demo_seed()
    page = _waiting_area(browser, live_url)
    page.evaluate("() => { window.dropPongs = true; }")
    # The browser says it is online again: the socket is checked with a ping at once; no pong
    # comes back within 10 s, so the page gives up on it and opens another.
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    until(
        page, "() => window.sockets.length === 2 && window.sockets[1].readyState === 1", timeout=20
    )
    assert page.evaluate("() => window.sockets[0].readyState") >= 2  # closing or closed
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    # The new socket still carries the waiting area: a caller appears.
    patient_enters(media_context(browser).new_page(), live_url, "Pat", "Jones")
    expect(page.get_by_role("row", name=re.compile("Pat Jones"))).to_be_visible()


def test_waiting_area_data_that_is_not_a_message_is_ignored(
    live_url: str, browser: Browser
) -> None:
    demo_seed()
    page = _waiting_area(browser, live_url)
    for text in ("not json", "null", "[1, 2]", '{"no": "type"}', '{"type": 3}'):
        page.evaluate("(text) => window.garbage(text)", text)
    assert page.evaluate("() => window.errors") == []
    patient_enters(media_context(browser).new_page(), live_url, "Pat", "Jones")
    expect(page.get_by_role("row", name=re.compile("Pat Jones"))).to_be_visible()


def test_the_call_page_has_test_hooks_only_when_the_setting_is_on(
    live_url: str, browser: Browser, settings
) -> None:
    demo_seed()
    settings.CALL_TEST_HOOKS = False
    patient = media_context(browser).new_page()
    patient_enters(patient, live_url, "Pat", "Jones")
    expect(patient.get_by_role("heading", name="You are in the waiting area")).to_be_visible()
    assert patient.evaluate("() => typeof window.carecallCall") == "undefined"
    settings.CALL_TEST_HOOKS = True
    patient.reload()
    expect(patient.get_by_role("heading", name="You are in the waiting area")).to_be_visible()
    assert patient.evaluate("() => typeof window.carecallCall.ping") == "function"
