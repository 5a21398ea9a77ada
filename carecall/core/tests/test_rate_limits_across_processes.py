"""With REDIS_URL, the throttles' counts live in Redis: a limit holds across app processes.

Two real `uvicorn` processes share one SQLite file and a throwaway redis-server (the suite's own,
testsupport/redis_server.py). A client that enters the waiting area alternately on each process
is refused once its visits on both together pass the limit; with each process counting in its own
memory, the third visit (its second on A) would be allowed.
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from testsupport.app_processes import AppConfig, AppProcess, app_processes, manage
from testsupport.redis_server import throwaway_redis

COUNT_VISITS = "from carecall.calls.models import Visit; print(Visit.objects.count())"


@pytest.fixture(scope="module")
def two_processes(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AppConfig, list[AppProcess]]]:
    folder: Path = tmp_path_factory.mktemp("rate-limits")
    with throwaway_redis() as redis_url:
        config = AppConfig(
            database_url=f"sqlite:///{folder / 'carecall.sqlite3'}",
            var_dir=folder,
            redis_url=redis_url,
            extra={"RATE_LIMIT_ENTRY_PER_ADDRESS": "2/5m"},
        )
        manage(config, "migrate", "--noinput")
        manage(config, "seed_demo")
        with app_processes(config, "a", "b", worker=False) as processes:
            yield config, processes


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The entry's answer itself (302 to the visit, or 429), not the page it leads to."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _visits(config: AppConfig) -> int:
    """The visits in the deployment's database (its last line of output: Django's shell may
    say what it imported first)."""
    return int(manage(config, "shell", "-c", COUNT_VISITS).strip().splitlines()[-1])


def _enter(base_url: str) -> int:
    """A patient's entry on one process (its form and CSRF token first): the POST's status."""
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
        _NoRedirect(),
    )
    with opener.open(f"{base_url}/c/harbour-gp/", timeout=10) as page:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode())
    assert token, "no CSRF token on the entry page"
    fields = {
        "first_name": "Rae",
        "last_name": "Limit",
        "phone": "",
        "accept_terms": "on",
        "csrfmiddlewaretoken": token.group(1),
    }
    try:
        with opener.open(
            f"{base_url}/c/harbour-gp/", data=urllib.parse.urlencode(fields).encode(), timeout=10
        ) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_the_entry_limit_holds_across_two_processes_through_redis(
    two_processes: tuple[AppConfig, list[AppProcess]],
) -> None:
    config, (a, b) = two_processes
    before = _visits(config)

    statuses = [_enter(a.url), _enter(b.url), _enter(a.url), _enter(b.url)]

    logs = f"--- A:\n{a.log_text()}\n--- B:\n{b.log_text()}"
    assert statuses == [302, 302, 429, 429], logs
    assert _visits(config) == before + 2
