"""Browser tests: the real ASGI app served by uvicorn in this process, driven by Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from testsupport.asgi_server import ThreadedServer
from testsupport.browser import chromium


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


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
