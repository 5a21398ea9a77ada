"""Browser tests: the real ASGI app served by uvicorn in this process, driven by Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testsupport.asgi_server import ThreadedServer


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API keeps an event loop open in the test's thread, so Django would
    refuse the test's own ORM calls (seeding, checks). They never run concurrently with that
    loop. Set per browser test only, so that other tests keep Django's async-safety checks."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def live_url(transactional_db: None) -> Iterator[str]:
    from config.asgi import application

    with ThreadedServer(application) as server:
        yield server.url
