"""Launching Debian's Chromium through Playwright, the one way every browser test does it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from testsupport.services import require_executable

CHROMIUM = "/usr/bin/chromium"

# This machine has no network: without the background-networking flags Chromium's own
# connections fail; the fake-media flags give every page three fake cameras and microphones.
# fake_device_0 is the default; fake_device_1 is a depth camera (Y16) whose frames WebRTC
# cannot encode; fake_device_2 (MJPEG) is the one to switch to.
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream=device-count=3",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@contextmanager
def chromium() -> Iterator[Browser]:
    executable = require_executable(CHROMIUM, why="browser tests use Debian's Chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
