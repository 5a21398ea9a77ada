"""Browser tests: the real ASGI app served by uvicorn in this process, driven by Chromium."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext

from e2e.layout_checks import LAPTOP, PHONE, Screen
from testsupport.asgi_server import ThreadedServer


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API keeps an event loop open in the test's thread, so Django would
    refuse the test's own ORM calls (seeding, checks). They never run concurrently with that
    loop. Set per browser test only, so that other tests keep Django's async-safety checks."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def live_url(transactional_db: None) -> Iterator[str]:
    """The app under uvicorn with a worker in the same process, as `carecall demo` runs it: the
    worker processes Stripe's webhooks (the view only stores them) and what it announces
    reaches this process's sockets."""
    from carecall.jobs.worker import worker_start
    from config.asgi import application

    with ThreadedServer(application) as server:
        worker = worker_start(threads=2)
        try:
            yield server.url
        finally:
            worker.stop()
            # The webhook URL's writer thread keeps a connection of its own (PostgreSQL could
            # not drop the test database at the end).
            application.application_mapping["http"].writer.close_connection()


# ----------------------------------------------------------------------------- screens
# Contexts at the sizes every page is tried at (e2e/layout_checks.SCREENS). Touch screens are
# phones and tablets in mobile mode; tests press controls there with tap() (layout_checks.press).
# Each context may use the camera and microphone (the device check and the call need them); all
# are closed after the test by the `browser` fixture.


@pytest.fixture
def screen_context(browser: Browser) -> Callable[..., BrowserContext]:
    """A factory: screen_context(PHONE) is a new context of that size, touch for phones and
    tablets; extra keyword arguments go to Browser.new_context."""

    def make(screen: Screen, **options: Any) -> BrowserContext:
        return browser.new_context(
            permissions=["camera", "microphone"], **{**screen.context_options(), **options}
        )

    return make


@pytest.fixture
def phone_context(screen_context: Callable[..., BrowserContext]) -> BrowserContext:
    """390×844, is_mobile and has_touch: the phone most patients join from."""
    return screen_context(PHONE)


@pytest.fixture
def desktop_context(screen_context: Callable[..., BrowserContext]) -> BrowserContext:
    """1280×800, mouse and keyboard: a clinic's desk. Pages opened in it can be resized with
    page.set_viewport_size to 1920×1080 (the other desktop screen) without a new context."""
    return screen_context(LAPTOP)
