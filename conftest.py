"""Shared fixtures: the people every endpoint is tested as (like Healthchecks' hc/test.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from testsupport.world import World, world_build


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Each test starts with an empty cache: the throttles' counts (carecall/core/ratelimit.py)
    and debounces of one test must not reach the next."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def world(db: None) -> World:
    return world_build()


@pytest.fixture(scope="session")
def _chromium() -> Iterator[Browser]:
    """One Chromium for the whole run: Playwright's sync API allows one instance per thread
    (a second one, while the first is open, finds its event loop running and refuses)."""
    from testsupport.browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture
def browser(_chromium: Browser) -> Iterator[Browser]:
    """The run's Chromium, with every context a test left open closed after it: pages left
    running keep the fake camera captured, and after a dozen calls Chromium answers the next
    getUserMedia with NotReadableError ("busy in another program")."""
    yield _chromium
    for context in list(_chromium.contexts):
        context.close()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests (all of e2e/, and any test using Chromium) carry the `browser` mark, so the
    PostgreSQL pass of `make test` can leave them to the first pass, and run after every other
    test."""
    for item in items:
        if "/e2e/" in str(item.path) or "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
    # Last of all: Playwright's sync API keeps its event loop marked running in the main thread
    # for as long as the run's Chromium is open, so an asyncio test after a browser test fails
    # with "Runner.run() cannot be called from a running event loop". pytest-django has already
    # grouped the tests by database use; a stable sort keeps that order within each part.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
