"""The real `carecall demo` command, as `make demo` runs it: serves, prints who to sign in as,
and starts again on the same var dir quickly without seeding anything twice."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from carecall.orgs.demo import DEMO_PASSWORD, DEMO_PEOPLE
from testsupport.processes import _die_with_parent, log_tail
from testsupport.services import free_port

ROOT = Path(__file__).resolve().parents[1]
CARECALL = ROOT / ".venv" / "bin" / "carecall"
# What the test run itself puts in the environment must not reach the demo.
INHERITED_SETTINGS = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "EMAIL_URL", "SITE_URL", "DEBUG")
COUNTED_TABLES = (
    "accounts_user",
    "orgs_organisation",
    "orgs_clinic",
    "orgs_membership",
    "payments_paymentrequest",
)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _demo_env(var_dir: Path, port: int, sandbox_port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in INHERITED_SETTINGS
        and not key.startswith(("STRIPE_", "CARECALL_"))
        and key not in {"SECRET_KEY", "ALLOWED_HOSTS", "HTTPS", "REDIS_URL", "PORT"}
    }
    env.update(CARECALL_VAR_DIR=str(var_dir), PORT=str(port), STRIPE_SANDBOX_PORT=str(sandbox_port))
    return env


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(CARECALL), "demo"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so the whole group can be stopped
            preexec_fn=_die_with_parent,  # and it dies with the test process even on kill -9
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the demo's whole process group, SIGKILL if it lingers."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # anything left in the group
        os.killpg(process.pid, signal.SIGKILL)


def _wait_healthy(process: subprocess.Popen[bytes], base: str, log: Path, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise AssertionError(f"demo exited with {process.returncode}:\n{log_tail(log)}")
        if _status(f"{base}/healthz") == 200:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"demo not healthy after {timeout:.0f} s:\n{log_tail(log)}")


def _counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        return {
            table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in COUNTED_TABLES
        }


def test_demo_command_serves_prints_its_people_and_restarts_on_the_same_data(
    tmp_path: Path,
) -> None:
    var_dir = tmp_path / "var"
    port, sandbox_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = _demo_env(var_dir, port, sandbox_port)

    first_log = tmp_path / "first.log"
    process = _start(env, first_log)
    try:
        # First start: migrate, seed people and three weeks of payments through stripe_sandbox.
        first_seconds = _wait_healthy(process, base, first_log, timeout=120)
        print(f"first demo start took {first_seconds:.1f} s")
        assert _status(f"{base}/accounts/sign-in/") == 200
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            assert json.load(response) == {"status": "ok", "database": "ok"}
        output = first_log.read_text()
        for person in DEMO_PEOPLE:
            assert person.email in output
        assert f"password for all: {DEMO_PASSWORD}" in output
        for url in (
            f"{base}/accounts/sign-in/",
            f"{base}/operator/",
            f"{base}/c/harbour-gp/",
            f"{base}/c/northside-physio/",
        ):
            assert url in output
        assert "sample payments" in output
        # Everything the demo keeps lives in its var dir, mail included.
        assert (var_dir / "secret_key").exists()
        assert list((var_dir / "mail").glob("*.eml")), log_tail(first_log)
        time.sleep(1)  # let the sandbox's webhooks for the sample payments land
    finally:
        _stop(process)
    assert _status(f"{base}/healthz") == 0
    before = _counts(var_dir / "carecall.sqlite3")
    assert before["accounts_user"] == len(DEMO_PEOPLE)
    assert before["orgs_clinic"] == 2

    second_log = tmp_path / "second.log"
    process = _start(env, second_log)
    try:
        second_seconds = _wait_healthy(process, base, second_log, timeout=15)
        print(f"second demo start took {second_seconds:.1f} s")
        assert _status(f"{base}/accounts/sign-in/") == 200
        output = second_log.read_text()
        assert "sample payments" not in output  # nothing seeded again
        for person in DEMO_PEOPLE:
            assert person.email in output
    finally:
        _stop(process)
    assert _counts(var_dir / "carecall.sqlite3") == before
