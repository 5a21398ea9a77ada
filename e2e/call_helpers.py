"""Steps shared by the call browser tests."""

from __future__ import annotations

import time

from playwright.sync_api import Browser, BrowserContext, Page, expect

from carecall.orgs.demo import DEMO_PASSWORD

FRAMES_DECODED = """async () => {
  if (!window.carecallCall) return 0;
  let total = 0;
  for (const peer of window.carecallCall.peers.values()) {
    const stats = await peer.pc.getStats();
    stats.forEach((r) => { if (r.type === "inbound-rtp" && r.kind === "video") total += r.framesDecoded || 0; });
  }
  return total;
}"""

SELECTED_CANDIDATE_TYPES = """async () => {
  if (!window.carecallCall) return [];
  const types = [];
  for (const peer of window.carecallCall.peers.values()) {
    const stats = await peer.pc.getStats();
    let pair = null;
    stats.forEach((r) => { if (r.type === "transport" && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
    if (!pair) stats.forEach((r) => { if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") pair = r; });
    if (pair) types.push([stats.get(pair.localCandidateId).candidateType, stats.get(pair.remoteCandidateId).candidateType]);
  }
  return types;
}"""


def media_context(browser: Browser) -> BrowserContext:
    return browser.new_context(permissions=["camera", "microphone"])


def sign_in(page: Page, live_url: str, email: str) -> None:
    page.goto(f"{live_url}/accounts/sign-in/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def patient_enters(page: Page, live_url: str, first: str, last: str, *, goto: bool = True) -> None:
    if goto:
        page.goto(f"{live_url}/c/harbour-gp/")
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label("I accept the clinic's terms").check()
    expect(page.get_by_text("Your camera and microphone work")).to_be_visible()
    page.get_by_role("button", name="Enter the waiting area").click()
    expect(page.get_by_role("heading", name="You are in the waiting area")).to_be_visible()


def wait_for_video(page: Page, *, more_than: int = 0, timeout: float = 15) -> int:
    """Frames decoded from every remote video, once they exceed `more_than`."""
    deadline = time.monotonic() + timeout
    frames = 0
    while time.monotonic() < deadline:
        frames = int(page.evaluate(FRAMES_DECODED))
        if frames > more_than:
            return frames
        page.wait_for_timeout(200)
    raise AssertionError(f"no remote video decoded (frames={frames})")


AUDIO_RECEIVED = """async () => {
  if (!window.carecallCall) return [0, 0];
  let samples = 0, energy = 0;
  for (const peer of window.carecallCall.peers.values()) {
    const stats = await peer.pc.getStats();
    stats.forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "audio") {
        samples += r.totalSamplesReceived || 0;
        energy += r.totalAudioEnergy || 0;
      }
    });
  }
  return [samples, energy];
}"""


def wait_for_audio(page: Page, *, more_than: int = 0, timeout: float = 15) -> int:
    """Audio samples received from every remote peer, once they exceed `more_than` and carry
    sound (Chromium's fake microphone beeps: the energy is above zero)."""
    deadline = time.monotonic() + timeout
    samples, energy = 0, 0.0
    while time.monotonic() < deadline:
        samples, energy = page.evaluate(AUDIO_RECEIVED)
        if samples > more_than and energy > 0:
            return int(samples)
        page.wait_for_timeout(200)
    raise AssertionError(f"no remote audio heard (samples={samples}, energy={energy})")


# Records every text a tile's status line shows, as "<name>: <text>", from now on.
RECORD_TILE_FLAGS = """() => {
  window.tileFlags = [];
  const record = () => {
    for (const flags of document.querySelectorAll("[data-tile] [data-flags]")) {
      const name = flags.closest("[data-tile]").querySelector(".tile-name").textContent;
      const line = `${name}: ${flags.textContent}`;
      if (!window.tileFlags.includes(line)) window.tileFlags.push(line);
    }
  };
  new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
}"""


def record_tile_flags(page: Page) -> None:
    page.evaluate(RECORD_TILE_FLAGS)


def tile_flags(page: Page) -> list[str]:
    flags: list[str] = page.evaluate("() => window.tileFlags")
    return flags


def until(page: Page, predicate: str, timeout: float = 15) -> None:
    """Poll a page function (wait_for_function would need eval, which our CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, f"never true: {predicate}"
        page.wait_for_timeout(100)


def confirm_in_dialog(page: Page, button: str) -> None:
    """Answer the confirmation dialog (core/confirm.js) with its `button`."""
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=button).click()
    expect(dialog).to_have_count(0)


def end_call(page: Page) -> None:
    """A clinician's End call, confirmed."""
    page.get_by_role("toolbar", name="Call controls").get_by_role("button", name="End call").click()
    confirm_in_dialog(page, "End call")


def leave_call(page: Page) -> None:
    """Leave, confirmed."""
    page.get_by_role("toolbar", name="Call controls").get_by_role("button", name="Leave").click()
    confirm_in_dialog(page, "Leave")
