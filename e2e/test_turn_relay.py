"""The video call forced through TURN: relay-only ICE against a coturn this test starts.

coturn runs on 127.0.0.1 with `use-auth-secret` (the configuration docs/machine-notes.md describes). The app
hands each participant TURN REST credentials signed with TURN_SECRET (carecall/calls/turn.py) and
`iceTransportPolicy: "relay"`, so no host candidate may carry media: video decoding on both sides
means coturn accepted the app's credentials and relayed it. With a secret coturn does not know, no
relay can be allocated and no video flows — the credentials are what make the call work.

The app reads TURN settings at request time, so pytest-django's `settings` fixture configures the
in-process server before the pages load.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from carecall.orgs.demo import CLINICIAN, demo_seed
from e2e.call_helpers import (
    FRAMES_DECODED,
    SELECTED_CANDIDATE_TYPES,
    end_call,
    media_context,
    patient_enters,
    sign_in,
    until,
    wait_for_video,
)
from testsupport.browser import screenshot_path
from testsupport.coturn import Coturn, throwaway_coturn

# The selected pair's local candidate in full: the relay must be ours (address, port in
# coturn's relay range, and the TURN URL it was allocated from).
SELECTED_LOCAL_CANDIDATES = """async () => {
  const found = [];
  for (const peer of window.carecallCall.peers.values()) {
    const stats = await peer.pc.getStats();
    let pair = null;
    stats.forEach((r) => { if (r.type === "transport" && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
    if (pair) {
      const c = stats.get(pair.localCandidateId);
      found.push({type: c.candidateType, address: c.address, port: c.port, url: c.url || "", relayProtocol: c.relayProtocol || ""});
    }
  }
  return found;
}"""

# Where ICE got to on each peer connection (negotiated? candidates gathered? connected?).
ICE_PROGRESS = """async () => {
  const out = [];
  for (const peer of window.carecallCall.peers.values()) {
    const stats = await peer.pc.getStats();
    let local = 0;
    stats.forEach((r) => { if (r.type === "local-candidate") local += 1; });
    out.push({
      negotiated: !!peer.pc.remoteDescription && !!peer.pc.localDescription,
      gathering: peer.pc.iceGatheringState,
      ice: peer.pc.iceConnectionState,
      localCandidates: local,
    });
  }
  return out;
}"""

ICE_CONFIG = "() => ({servers: window.carecallCall.iceServers, policy: window.carecallCall.policy})"


@pytest.fixture(scope="module")
def coturn() -> Iterator[Coturn]:
    with throwaway_coturn() as server:
        yield server


def _relay_only(settings: Any, coturn: Coturn, *, secret: str) -> None:
    settings.STUN_URLS = []
    settings.TURN_URLS = [coturn.udp_url]
    settings.TURN_SECRET = secret
    settings.ICE_TRANSPORT_POLICY = "relay"


def _call(
    browser: Browser, live_url: str, first: str, last: str
) -> tuple[BrowserContext, BrowserContext, Page, Page]:
    """Patient waits, clinician joins: both pages are on the call screen when this returns."""
    demo_seed()
    doctor_ctx, patient_ctx = media_context(browser), media_context(browser)
    doctor, patient = doctor_ctx.new_page(), patient_ctx.new_page()
    sign_in(doctor, live_url, CLINICIAN.email)
    doctor.get_by_role("link", name="Waiting area of Harbour GP").click()
    patient_enters(patient, live_url, first, last)
    row = doctor.get_by_role("row", name=re.compile(f"{first} {last}"))
    row.get_by_role("button", name=f"Join {first} {last}").click()
    expect(doctor).to_have_url(re.compile(r"/call/$"))
    # The call screen shows once the welcome (with the ICE configuration) has arrived.
    for page in (doctor, patient):
        expect(page.get_by_role("list", name="People in the call")).to_be_visible()
    return doctor_ctx, patient_ctx, doctor, patient


def _assert_relay_config(page: Page, coturn: Coturn) -> str:
    """The page got our TURN server with REST credentials and the relay policy; the username."""
    config = page.evaluate(ICE_CONFIG)
    assert config["policy"] == "relay", config
    assert len(config["servers"]) == 1, config
    server = config["servers"][0]
    assert server["urls"] == [coturn.udp_url], config
    assert re.fullmatch(r"\d{10}:[0-9a-f-]{36}", server["username"]), server["username"]
    return str(server["username"])


def test_call_through_turn_relay_with_the_apps_credentials(
    live_url: str, browser: Browser, settings: Any, coturn: Coturn
) -> None:
    _relay_only(settings, coturn, secret=coturn.secret)
    doctor_ctx, patient_ctx, doctor, patient = _call(browser, live_url, "Rita", "Relay")
    usernames = [_assert_relay_config(page, coturn) for page in (doctor, patient)]

    doctor_frames = wait_for_video(doctor)
    patient_frames = wait_for_video(patient)
    # Still coming a moment later: the relay carries a stream, not one lucky frame.
    assert wait_for_video(doctor, more_than=doctor_frames + 10) > doctor_frames
    assert wait_for_video(patient, more_than=patient_frames + 10) > patient_frames

    for page in (doctor, patient):
        pairs = page.evaluate(SELECTED_CANDIDATE_TYPES)
        assert pairs, "no selected candidate pair"
        # Relay-only on both ends, so the remote candidate is the other side's relay too.
        assert all(pair == ["relay", "relay"] for pair in pairs), pairs
        for local in page.evaluate(SELECTED_LOCAL_CANDIDATES):
            assert local["type"] == "relay", local
            assert local["address"] == "127.0.0.1", local
            assert coturn.min_relay_port <= local["port"] <= coturn.max_relay_port, local
            assert local["relayProtocol"] == "udp", local
            assert local["url"].startswith(f"turn:127.0.0.1:{coturn.port}"), local

    # coturn's own word: both participants' credentials were accepted for an allocation.
    log = coturn.log_text()
    for username in usernames:
        assert re.search(
            rf"user <{re.escape(username)}>: incoming packet ALLOCATE processed, success", log
        ), f"coturn logged no successful allocation for {username}:\n{log[-3000:]}"
    doctor.screenshot(path=screenshot_path("call-relay-clinician"), full_page=True)
    end_call(doctor)
    expect(patient.get_by_role("heading", name="The call has ended")).to_be_visible()
    doctor_ctx.close()
    patient_ctx.close()


def test_a_reconnect_brings_fresh_turn_credentials_and_an_ice_restart_relays_with_them(
    live_url: str, browser: Browser, settings: Any, coturn: Coturn
) -> None:
    """Credentials expire (TURN_TTL_SECONDS): a page that reconnected must restart ICE with the
    new ones its welcome brought, and coturn must accept those."""
    _relay_only(settings, coturn, secret=coturn.secret)
    doctor_ctx, patient_ctx, doctor, patient = _call(browser, live_url, "Fran", "Fresh")
    first = _assert_relay_config(patient, coturn)
    doctor_frames, patient_frames = wait_for_video(doctor), wait_for_video(patient)

    # Another lifetime, so the next credentials cannot equal the first even within a second.
    settings.TURN_TTL_SECONDS = settings.TURN_TTL_SECONDS + 3600
    patient.evaluate("() => { window.firstSocket = window.carecallCall.ws; }")
    patient.evaluate("() => window.carecallCall.ws.close(4000, 'network change')")
    until(
        patient,
        "() => window.carecallCall.ws !== window.firstSocket"
        " && window.carecallCall.ws.readyState === 1"
        f" && window.carecallCall.iceServers[0].username !== {first!r}",
    )
    fresh = _assert_relay_config(patient, coturn)
    assert fresh != first and int(fresh.split(":")[0]) > int(first.split(":")[0])

    patient.evaluate(
        "() => window.carecallCall.restartIce([...window.carecallCall.peers.keys()][0])"
    )
    # coturn allocated a relay for the fresh username: the restart used the new credentials.
    deadline = time.monotonic() + 15
    pattern = rf"user <{re.escape(fresh)}>: incoming packet ALLOCATE processed, success"
    while not re.search(pattern, coturn.log_text()):
        assert time.monotonic() < deadline, (
            f"no allocation for {fresh}:\n{coturn.log_text()[-3000:]}"
        )
        time.sleep(0.1)
    assert wait_for_video(doctor, more_than=doctor_frames + 20) > doctor_frames
    assert wait_for_video(patient, more_than=patient_frames + 20) > patient_frames
    for page in (doctor, patient):
        assert all(pair == ["relay", "relay"] for pair in page.evaluate(SELECTED_CANDIDATE_TYPES))
    doctor_ctx.close()
    patient_ctx.close()


def test_wrong_turn_secret_means_no_relay_and_no_video(
    live_url: str, browser: Browser, settings: Any, coturn: Coturn
) -> None:
    _relay_only(settings, coturn, secret="not-the-secret-" + secrets.token_hex(8))
    doctor_ctx, patient_ctx, doctor, patient = _call(browser, live_url, "Nora", "Norelay")
    usernames = [_assert_relay_config(page, coturn) for page in (doctor, patient)]

    # Signalling works and ICE gathering finishes; only the relay is refused. Waiting for that
    # (rather than a fixed sleep) makes "no video" mean "could not", not "not yet".
    deadline = time.monotonic() + 15
    progress: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        progress = doctor.evaluate(ICE_PROGRESS) + patient.evaluate(ICE_PROGRESS)
        if len(progress) >= 2 and all(
            p["negotiated"] and p["gathering"] == "complete" for p in progress
        ):
            break
        doctor.wait_for_timeout(200)
    else:
        raise AssertionError(f"ICE gathering did not finish: {progress}")
    assert all(p["localCandidates"] == 0 for p in progress), progress

    # A further few seconds: still nothing decoded, nothing selected.
    doctor.wait_for_timeout(3000)
    for page in (doctor, patient):
        assert page.evaluate(FRAMES_DECODED) == 0
        assert page.evaluate(SELECTED_CANDIDATE_TYPES) == []

    log = coturn.log_text()
    for username in usernames:
        user = rf"user <{re.escape(username)}>: incoming packet"
        assert re.search(rf"{user} \w+ processed, error 401", log), (
            f"coturn logged no refusal for {username}:\n{log[-3000:]}"
        )
        assert not re.search(rf"{user} \w+ processed, success", log), log[-3000:]
    doctor_ctx.close()
    patient_ctx.close()
