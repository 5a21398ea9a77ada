"""Without REDIS_URL a second web process on the same database stops at start, with a message.

Real processes on the test's own database (SQLite or PostgreSQL, whichever the suite runs on):
`carecall serve` holds the claim (carecall/calls/web_process.py); another `carecall serve` or a
bare `uvicorn config.asgi:application` is refused while it runs, and starts once it has gone.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from testsupport.app_processes import healthy
from testsupport.processes import log_tail, spawn, stop, wait_until
from testsupport.services import free_port

ROOT = Path(__file__).resolve().parents[3]
REFUSED = "another CareCall web process already serves this database without REDIS_URL"
_INHERITED = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")

pytestmark = pytest.mark.django_db(transaction=True)


def _database_url() -> str:
    """The test database, as a server process is told it."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = quote(str(settings["USER"]), safe="")
    password = quote(str(settings["PASSWORD"]), safe="")
    return f"postgres://{user}:{password}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    env = {key: os.environ[key] for key in _INHERITED if key in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=_database_url(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL="http://127.0.0.1:8000",
        EMAIL_URL="memory:",
        HTTPS="false",
        CARECALL_VAR_DIR=str(tmp_path),
        PYTHONUNBUFFERED="1",
        HOST="127.0.0.1",
    )
    return env


class Started:
    def __init__(self, command: list[str], env: dict[str, str], log: Path, port: int) -> None:
        self.log, self.url = log, f"http://127.0.0.1:{port}"
        self.process = spawn(command, log=log, env={**env, "PORT": str(port)}, cwd=ROOT)

    def wait_healthy(self) -> None:
        wait_until(
            partial(healthy, self.url),
            process=self.process,
            what=self.log.name,
            log=self.log,
            timeout=60,
        )

    def wait_refused(self) -> str:
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.log.name} kept running:\n{log_tail(self.log)}")
        assert code != 0
        return log_tail(self.log)


@pytest.fixture
def started() -> Iterator[list[Started]]:
    servers: list[Started] = []
    yield servers
    for server in servers:
        stop(server.process)


def _serve() -> list[str]:
    return [str(Path(sys.executable).parent / "carecall"), "serve"]


def _uvicorn(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "off",
    ]


def test_a_second_web_process_without_redis_on_the_same_database_stops_with_a_message(
    environment: dict[str, str], tmp_path: Path, started: list[Started]
) -> None:
    first = Started(_serve(), environment, tmp_path / "first.log", free_port())
    started.append(first)
    first.wait_healthy()

    second = Started(_serve(), environment, tmp_path / "second.log", free_port())
    started.append(second)
    output = second.wait_refused()
    assert f"carecall serve: {REFUSED}" in output
    assert "set REDIS_URL on every web process" in output

    # A server started without `carecall serve` loads the same application: refused too.
    port = free_port()
    bare = Started(_uvicorn(port), environment, tmp_path / "uvicorn.log", port)
    started.append(bare)
    assert REFUSED in bare.wait_refused()

    assert healthy(first.url)  # the first one serves on, untouched


def test_the_claim_goes_with_the_process_that_held_it(
    environment: dict[str, str], tmp_path: Path, started: list[Started]
) -> None:
    port = free_port()
    first = Started(_uvicorn(port), environment, tmp_path / "first.log", port)
    started.append(first)
    first.wait_healthy()
    first.process.kill()  # not even a clean exit
    first.process.wait(timeout=10)

    again = Started(_serve(), environment, tmp_path / "again.log", free_port())
    started.append(again)
    again.wait_healthy()
