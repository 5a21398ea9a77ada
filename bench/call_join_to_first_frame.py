"""Join → first decoded remote video frame, against two bare RTCPeerConnections in the same run.

    .venv/bin/python bench/call_join_to_first_frame.py [--runs 5] [--check]

Target (docs/targets.md): the first remote frame within 2 s of Join on localhost.

Anchor: one page, `getUserMedia` (fake camera + microphone) and two RTCPeerConnections that
exchange offer/answer and candidates in memory, both sending video; time until both have
decoded a frame. Nothing of CareCall is in it: no server, no signalling, no page load, so it is
the floor WebRTC itself sets on this machine (docs/machine-notes.md: ~266 ms).

CareCall: a patient waits on their visit page; a signed-in clinician clicks **Join** on the
waiting area. Measured from that click (a capture-phase listener, before the form submits) to
the first `framesDecoded > 0` on *both* pages: the join POST and redirect, the call page's load,
camera, websocket and welcome, signalling through the server, ICE, and decoding.

Both are polled in the page every 10 ms and timed with the browser's clock (Date.now(), shared
by the pages of one browser), so Playwright round trips do not count. Runs alternate anchor and
CareCall so drift on a busy machine hits both. The app runs as its own uvicorn process with a
throwaway SQLite database, as `carecall serve` would: the Playwright client driving the browser
does not share the server's interpreter (and GIL), as it would with an in-process server.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `python bench/…` puts only bench/ on the path
    sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright  # noqa: E402

from testsupport.app_processes import AppConfig, app_processes, manage  # noqa: E402
from testsupport.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

TARGET_MS = 2000
POLL_MS = 10

ANCHOR = """async ({pollMs}) => {
  const t0 = Date.now();
  const stream = await navigator.mediaDevices.getUserMedia(
    {audio: true, video: {width: 640, height: 480}});  // what CareCall's call page asks for
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = (e) => { if (e.candidate) b.addIceCandidate(e.candidate); };
  b.onicecandidate = (e) => { if (e.candidate) a.addIceCandidate(e.candidate); };
  for (const t of stream.getTracks()) { a.addTrack(t, stream); b.addTrack(t, stream); }
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  const frames = async (pc) => {
    let n = 0;
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") n += r.framesDecoded || 0;
    });
    return n;
  };
  const first = {};
  while (first.a === undefined || first.b === undefined) {
    if (Date.now() - t0 > 15000) throw new Error("anchor: no frame within 15 s");
    if (first.a === undefined && await frames(a) > 0) first.a = Date.now() - t0;
    if (first.b === undefined && await frames(b) > 0) first.b = Date.now() - t0;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  a.close(); b.close(); stream.getTracks().forEach((t) => t.stop());
  return Math.max(first.a, first.b);
}"""

# On every page of a context. Marks land in sessionStorage so that the click on the waiting
# area and the call page it leads to (same tab, same origin) write into one record.
INSTRUMENT = """(() => {
  const mark = (key) => {
    const marks = JSON.parse(sessionStorage.getItem("bench") || "{}");
    if (key in marks) return;
    marks[key] = Date.now();
    sessionStorage.setItem("bench", JSON.stringify(marks));
  };
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button[aria-label^='Join ']");
    if (button) mark("click");
  }, true);
  if (location.pathname.endsWith("/call/")) {
    const marks = JSON.parse(sessionStorage.getItem("bench") || "{}");
    // The call page's first byte: the join POST, its redirect and the page's own view are done.
    const nav = performance.getEntriesByType("navigation")[0];
    marks.page = Math.round(performance.timeOrigin + (nav ? nav.responseStart : 0));
    sessionStorage.setItem("bench", JSON.stringify(marks));
  }
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        try {
          const m = JSON.parse(event.data);
          if (m.type === "welcome") mark("welcome");
          if (m.type === "visit_status" && m.status === "in_call") mark("in_call");
        } catch (error) { /* not ours */ }
      });
    }
  };
  const poll = async () => {
    const call = window.carecallCall;
    if (call && call.peers.size) {
      let frames = 0;
      for (const peer of call.peers.values()) {
        (await peer.pc.getStats()).forEach((r) => {
          if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded || 0;
        });
      }
      if (frames > 0) { mark("frame"); return; }
    }
    setTimeout(poll, %(poll)d);
  };
  poll();
})();""" % {"poll": POLL_MS}  # noqa: UP031 - JS braces everywhere; %-format keeps them literal


@dataclass(frozen=True)
class JoinTiming:
    clinician: int  # click → clinician's first decoded frame, ms
    patient: int  # click → patient's first decoded frame, ms
    to_call_page: int  # click → the call page's first byte (join POST, redirect, page view)
    to_welcome: int  # click → the clinician's welcome message (page load, camera, websocket)

    @property
    def both(self) -> int:
        return max(self.clinician, self.patient)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: with 5 runs, p90 is the slowest one (no interpolation)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def seeded_clinician(config: AppConfig) -> tuple[str, str]:
    """Email and password of Harbour GP's demo clinician, from what seed_demo prints."""
    output = manage(config, "seed_demo")
    found = re.search(r"^Clinician, Harbour GP\s+(\S+)\s+(\S+)$", output, re.MULTILINE)
    if not found:
        raise RuntimeError(f"seed_demo printed no Harbour GP clinician:\n{output}")
    return found.group(1), found.group(2)


def marks(page: Page) -> dict[str, int]:
    found: dict[str, int] = page.evaluate(
        "() => JSON.parse(sessionStorage.getItem('bench') || '{}')"
    )
    return found


def wait_for_marks(page: Page, *keys: str, timeout: float = 20) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        found = marks(page)
        if all(k in found for k in keys):
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"{page.url}: no {keys} after {timeout:.0f} s (have {found})")
        page.wait_for_timeout(50)


def anchor_run(context: BrowserContext, url: str) -> int:
    page = context.new_page()
    try:
        page.goto(f"{url}/accounts/sign-in/")  # any page of the same origin: a secure context
        return int(page.evaluate(ANCHOR, {"pollMs": POLL_MS}))
    finally:
        page.close()


def carecall_run(browser: Browser, doctor: Page, url: str, n: int) -> JoinTiming:
    name = f"Bench Patient{n}"
    patient_ctx = browser.new_context(permissions=["camera", "microphone"])
    patient_ctx.add_init_script(INSTRUMENT)
    try:
        patient = patient_ctx.new_page()
        patient.goto(f"{url}/c/harbour-gp/")
        patient.get_by_label("First name").fill("Bench")
        patient.get_by_label("Last name").fill(f"Patient{n}")
        patient.get_by_label("I accept the clinic's terms").check()
        patient.get_by_text("Your camera and microphone work").wait_for()
        patient.get_by_role("button", name="Enter the waiting area").click()
        patient.get_by_role("heading", name="You are in the waiting area").wait_for()

        doctor.goto(f"{url}/")
        doctor.get_by_role("link", name="Waiting area of Harbour GP").click()
        doctor.evaluate("() => sessionStorage.removeItem('bench')")
        join = doctor.get_by_role("button", name=f"Join {name}")
        join.wait_for()
        # Let both pages go idle first (the row re-renders when the patient's socket connects),
        # so that what follows the click is the join and nothing left over from before it.
        doctor.wait_for_timeout(300)
        join.click()
        clinician = wait_for_marks(doctor, "click", "page", "welcome", "frame")
        patient_marks = wait_for_marks(patient, "frame")
        doctor.get_by_role("button", name="End call").click()
        patient.get_by_role("heading", name="The call has ended").wait_for()
    finally:
        patient_ctx.close()
    click = clinician["click"]
    return JoinTiming(
        clinician=clinician["frame"] - click,
        patient=patient_marks["frame"] - click,
        to_call_page=clinician["page"] - click,
        to_welcome=clinician["welcome"] - click,
    )


def report(anchors: list[int], joins: list[JoinTiming], *, chromium: str, runs: int) -> list[str]:
    anchor_median = statistics.median(anchors)

    def line(label: str, values: list[int], *, ratio: bool = True) -> str:
        median, p90 = statistics.median(values), percentile([float(v) for v in values], 90)
        times = f"{median / anchor_median:5.1f}×" if ratio else "  1.0×"
        return f"  {label:<44} {median:7.0f} ms {p90:7.0f} ms   {times}"

    def step(label: str, values: list[int]) -> str:
        return f"    {label:<42} {statistics.median(values):7.0f} ms"

    both = [j.both for j in joins]
    p90 = percentile([float(b) for b in both], 90)
    return [
        "CareCall: Join → first decoded remote video frame (localhost, headless Chromium)",
        f"  {os.cpu_count()} CPUs, Python {platform.python_version()}, Chromium {chromium}, "
        f"{runs} runs of each after 1 warm-up, polled every {POLL_MS} ms in the page",
        f"  {'':<44} {'median':>10} {'p90':>10}   ratio to anchor (medians)",
        line("anchor: 2 bare RTCPeerConnections, 1 page", anchors, ratio=False),
        line("CareCall Join → frame on clinician's page", [j.clinician for j in joins]),
        line("CareCall Join → frame on patient's page", [j.patient for j in joins]),
        line("CareCall Join → frame on both (the measure)", both),
        "  where the clinician's time goes (medians, from the click):",
        step("join POST, redirect → call page 1st byte", [j.to_call_page for j in joins]),
        step("+ page, camera, websocket → welcome", [j.to_welcome for j in joins]),
        step("+ signalling, ICE, decode → first frame", [j.clinician for j in joins]),
        f"  samples, anchor: {anchors}",
        f"  samples, CareCall both: {both}",
        f"  target: first frame on both sides < {TARGET_MS} ms after Join (p90): "
        f"{'HOLDS' if p90 < TARGET_MS else 'MISSED'} ({p90:.0f} ms)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each (default 5)")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when the 2 s target is missed at p90"
    )
    args = parser.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="carecall-bench-") as folder:
        config = AppConfig(
            database_url=f"sqlite:///{Path(folder) / 'carecall.sqlite3'}",
            var_dir=Path(folder),
            extra={"CALL_TEST_HOOKS": "true"},  # window.carecallCall, read to time the frames
        )
        manage(config, "migrate", "--noinput")
        email, password = seeded_clinician(config)
        with app_processes(config, "bench") as (server,), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                anchor_ctx = browser.new_context(permissions=["camera", "microphone"])
                doctor_ctx = browser.new_context(permissions=["camera", "microphone"])
                doctor_ctx.add_init_script(INSTRUMENT)
                doctor = doctor_ctx.new_page()
                doctor.goto(f"{server.url}/accounts/sign-in/")
                doctor.get_by_label("Email").fill(email)
                doctor.get_by_label("Password").fill(password)
                doctor.get_by_role("button", name="Sign in").click()
                doctor.get_by_role("link", name="Waiting area of Harbour GP").wait_for()

                # One unmeasured run of each: first-use costs (module loading, codec setup,
                # Django's first queries) are not what a clinic sees on its hundredth call.
                cold = (
                    anchor_run(anchor_ctx, server.url),
                    carecall_run(browser, doctor, server.url, 0),
                )
                anchors: list[int] = []
                joins: list[JoinTiming] = []
                for n in range(1, args.runs + 1):
                    anchors.append(anchor_run(anchor_ctx, server.url))
                    joins.append(carecall_run(browser, doctor, server.url, n))
                version = browser.version
            except Exception:
                print(server.log_text(), file=sys.stderr)
                raise
            finally:
                browser.close()

    print("\n".join(report(anchors, joins, chromium=version, runs=args.runs)))
    print(
        f"  first (cold) run, not in the figures: anchor {cold[0]} ms, CareCall {cold[1].both} ms"
    )
    holds = percentile([float(j.both) for j in joins], 90) < TARGET_MS
    return 1 if args.check and not holds else 0


if __name__ == "__main__":
    sys.exit(main())
