"""The throttles' parts: rates as settings, the cache they count in, a cache that is down, and
the 429 answers (a page or a JSON error), translated."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy

from carecall.calls.models import Visit
from carecall.core.ratelimit import debounce_begin, too_many_requests
from carecall.core.tests.test_settings_and_env import PRODUCTION, _run
from config.env import EnvError, env_rate
from testsupport.services import free_port
from testsupport.world import World


def test_env_rate_accepts_django_ratelimit_rates_and_refuses_others() -> None:
    assert env_rate("R", "10/5m", environ={}) == "10/5m"
    for good in ("5/h", "120/10m", "3/s", "1/d"):
        assert env_rate("R", "10/5m", environ={"R": good}) == good
    for bad in ("lots", "10", "10/5", "0/m", "10/0m", "-1/m", "10/week"):
        with pytest.raises(EnvError, match="R must be a rate such as 10/5m"):
            env_rate("R", "10/5m", environ={"R": bad})


def test_a_bad_rate_stops_the_process_naming_the_variable() -> None:
    result = _run(
        [sys.executable, "-c", "import django; django.setup()"],
        {**PRODUCTION, "RATE_LIMIT_ENTRY_PER_ADDRESS": "lots"},
    )
    assert result.returncode != 0
    assert "RATE_LIMIT_ENTRY_PER_ADDRESS must be a rate" in result.stderr


def test_the_counts_live_in_redis_with_redis_url_and_in_memory_without() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION'])"
    )
    alone = _run([sys.executable, "-c", code], PRODUCTION)
    assert alone.stdout.split() == ["django.core.cache.backends.locmem.LocMemCache", "carecall"]
    shared = _run([sys.executable, "-c", code], {**PRODUCTION, "REDIS_URL": "redis://r:6379/1"})
    assert shared.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://r:6379/1",
    ], shared.stderr


@pytest.fixture
def cache_down(settings: Any) -> None:
    """Django's cache is a Redis nobody listens on."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }


def test_a_cache_that_is_down_lets_requests_through_and_says_so_in_the_log(
    world: World, settings: Any, cache_down: None, caplog: pytest.LogCaptureFixture
) -> None:
    settings.RATE_LIMIT_ENTRY_PER_ADDRESS = "1/5m"
    details = {"first_name": "Pat", "last_name": "Jones", "phone": "", "accept_terms": "on"}
    for _ in range(2):
        answer = Client().post(reverse("calls:entry", args=["harbour-gp"]), details)
        assert answer.status_code == 302
    assert Visit.objects.count() == 2
    assert "rate limit calls.entry not checked (cache:" in caplog.text
    # The debounce does the work rather than refuse it.
    assert debounce_begin(key="x", seconds=5) is True


def test_the_429_page_and_json_error_say_how_long_to_wait() -> None:
    request = RequestFactory().post("/somewhere/")
    message = gettext_lazy("Slow down; try again in %(wait)s.")
    page = too_many_requests(request, message=message, wait=150, answer="page")
    assert page.status_code == 429 and page["Retry-After"] == "150"
    assert "Slow down; try again in 3 minutes." in page.content.decode()
    error = too_many_requests(request, message=message, wait=30, answer="json")
    assert error.status_code == 429 and error["Retry-After"] == "30"
    assert json.loads(error.content) == {
        "error": "Slow down; try again in 1 minute.",
        "retry_after": 30,
    }


def test_the_429_page_is_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    trans = translation._trans  # type: ignore[attr-defined]
    monkeypatch.setattr(trans, "gettext", lambda message: f"[{message}]")
    request = RequestFactory().post("/somewhere/")
    message = gettext_lazy("Wait %(wait)s.")
    html = too_many_requests(request, message=message, wait=60, answer="page").content.decode()
    assert "<title>[Too many requests] · CareCall</title>" in html
    assert "<h1>[Please wait a little]</h1>" in html
    assert "[Wait %(wait)s.]" not in html and "[Wait 1 minute.]" in html
