"""Invite participant brings a third person in by a single-use link; a dropped websocket, a
socket that stops answering pings, the network coming back and an ICE restart all keep the call
going."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Page, expect

from carecall.orgs.demo import CLINICIAN, demo_seed
from e2e.call_helpers import (
    media_context,
    patient_enters,
    record_tile_flags,
    sign_in,
    tile_flags,
    wait_for_video,
)
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

    doctor.get_by_role("button", name="Invite").click()
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
        expect(page.locator("[data-tile]")).to_have_count(2, timeout=15000)
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
    wait_for_video(doctor)
    record_tile_flags(doctor)

    # The network blinks: the patient's websocket closes abnormally.
    patient.evaluate("() => { window.firstSocket = window.carecallCall.ws; }")
    patient.evaluate("() => window.carecallCall.ws.close(4000, 'network change')")
    patient_tile = doctor.locator("[data-tile]").filter(has_text="Pat Jones")
    # Their socket really closed: now, and only now, the other side shows them as lost.
    expect(patient_tile).to_contain_text("Connection lost")
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
    shown = [line for line in tile_flags(doctor) if line.startswith("Pat Jones")]
    assert shown == ["Pat Jones: Connection lost, reconnecting…", "Pat Jones: "], shown


def _in_a_call(live_url: str, browser: Browser) -> tuple[Page, Page]:
    demo_seed()
    doctor = media_context(browser).new_page()
    patient = media_context(browser).new_page()
    sign_in(doctor, live_url, CLINICIAN.email)
    doctor.goto(f"{live_url}/")
    doctor.get_by_role("link", name="Waiting area of Harbour GP").click()
    patient_enters(patient, live_url, "Pat", "Jones")
    doctor.get_by_role("button", name="Join Pat Jones").click()
    expect(doctor.get_by_role("list", name="People in the call")).to_be_visible()
    wait_for_video(patient)
    wait_for_video(doctor)
    return doctor, patient


NEW_SOCKET_OPEN = """() => window.carecallCall.ws !== window.firstSocket
  && window.carecallCall.ws.readyState === 1"""


def test_a_socket_that_stops_answering_pings_is_replaced(live_url: str, browser: Browser) -> None:
    doctor, patient = _in_a_call(live_url, browser)
    before = wait_for_video(patient)
    # The socket looks open but nothing comes back through it (a half-dead network path):
    # pongs no longer reach the page.
    patient.evaluate(
        """() => {
      const call = window.carecallCall;
      window.firstSocket = call.ws;
      const handle = call.ws.onmessage;
      call.ws.onmessage = (event) => { if (JSON.parse(event.data).type !== "pong") handle(event); };
      call.pongTimeout = 1000;
      window.configured = [];
      const configure = RTCPeerConnection.prototype.setConfiguration;
      RTCPeerConnection.prototype.setConfiguration = function (config) {
        window.configured.push(config);
        return configure.call(this, config);
      };
      call.ping();
    }"""
    )
    # No pong within the timeout: the page gives up on that socket and opens a new one.
    _until(patient, NEW_SOCKET_OPEN, timeout=10)
    expect(patient.get_by_role("status").filter(has_text="Reconnected.")).to_be_attached()
    # The new welcome's ICE servers (fresh TURN credentials) went to the open connection, so
    # that an ICE restart would use them.
    _until(patient, "() => window.configured.length === 1")
    assert patient.evaluate("() => window.configured[0].iceTransportPolicy") == "all"
    assert patient.evaluate("() => window.firstSocket.readyState") >= 2  # closing or closed
    # The new socket answers: a ping gets its pong, so the watchdog stays quiet.
    patient.evaluate(
        "() => { window.secondSocket = window.carecallCall.ws; window.carecallCall.ping(); }"
    )
    patient.wait_for_timeout(1500)
    assert patient.evaluate("() => window.carecallCall.ws === window.secondSocket")
    assert wait_for_video(patient, more_than=before + 10) > before
    expect(doctor.locator("[data-tile]").filter(has_text="Pat Jones")).not_to_contain_text(
        "Connection lost"
    )


def test_the_network_coming_back_reconnects_at_once(live_url: str, browser: Browser) -> None:
    _doctor, patient = _in_a_call(live_url, browser)
    # Offline long enough that the back-off has grown to 10 s...
    patient.evaluate(
        """() => {
      const call = window.carecallCall;
      window.firstSocket = call.ws;
      call.retry = 10;
      call.ws.close(4000, "network gone");
    }"""
    )
    _until(patient, "() => window.firstSocket.readyState === 3")
    # ...then the browser says it is online again: no waiting for the back-off.
    patient.evaluate("() => window.dispatchEvent(new Event('online'))")
    _until(patient, NEW_SOCKET_OPEN, timeout=3)


ICE_UFRAGS = r"""() => [...window.carecallCall.peers.values()].map((peer) => [
  /a=ice-ufrag:(\S+)/.exec(peer.pc.localDescription.sdp)[1],
  /a=ice-ufrag:(\S+)/.exec(peer.pc.remoteDescription.sdp)[1],
])"""


def test_an_ice_restart_keeps_video_flowing_both_ways(live_url: str, browser: Browser) -> None:
    doctor, patient = _in_a_call(live_url, browser)
    (before,) = patient.evaluate(ICE_UFRAGS)
    doctor_frames, patient_frames = wait_for_video(doctor), wait_for_video(patient)

    patient.evaluate(
        "() => window.carecallCall.restartIce([...window.carecallCall.peers.keys()][0])"
    )
    # New ICE credentials on both ends: the restart happened...
    _until(
        patient,
        f"() => {{ const [[local, remote]] = ({ICE_UFRAGS})();"
        f" return local !== {before[0]!r} && remote !== {before[1]!r}; }}",
    )
    _until(patient, f"() => ({PEERS_CONNECTED})() === 1")
    # ...and the same connections carry on decoding.
    assert wait_for_video(doctor, more_than=doctor_frames + 20) > doctor_frames
    assert wait_for_video(patient, more_than=patient_frames + 20) > patient_frames
