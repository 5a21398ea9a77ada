"""CareCall as separate uvicorn processes, configured only by environment variables.

For what one in-process server cannot show: several app processes sharing one database and one
Redis (channels-redis), as in production, and benchmarks that keep the browser-driving client out
of the server's process. Each child gets exactly the variables we give it plus a few OS basics: a
test process carries settings_test's defaults and DJANGO_ALLOW_ASYNC_UNSAFE, which must not leak.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from testsupport.processes import log_tail, spawn, stop, wait_until
from testsupport.services import free_port

BASE_DIR = Path(__file__).resolve().parent.parent

# Only these are inherited: enough for Python and the locale, nothing that configures Django.
_INHERITED = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")


@dataclass(frozen=True)
class AppConfig:
    """The environment shared by every process of one deployment (same DB, Redis, secret)."""

    database_url: str
    var_dir: Path
    redis_url: str | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    extra: dict[str, str] = field(default_factory=dict)

    def environment(self, *, site_url: str = "http://127.0.0.1:8000") -> dict[str, str]:
        env = {key: os.environ[key] for key in _INHERITED if key in os.environ}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DEBUG="true",
            SECRET_KEY=self.secret_key,
            DATABASE_URL=self.database_url,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SITE_URL=site_url,
            EMAIL_URL="memory:",
            CARECALL_VAR_DIR=str(self.var_dir),
            PYTHONUNBUFFERED="1",
        )
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env.update(self.extra)
        return env


def manage(config: AppConfig, *args: str, timeout: float = 180) -> str:
    """Run `carecall <management command>` in a child process; return its output."""
    result = subprocess.run(
        [sys.executable, "-m", "carecall.cli", *args],
        cwd=BASE_DIR,
        env=config.environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"carecall {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout


# Loopback only: a proxy from the environment (CI runners often set one) must not see these.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def healthy(url: str) -> bool:
    try:
        with _DIRECT.open(f"{url}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class AppProcess:
    """One `uvicorn config.asgi:application` child on a free port."""

    def __init__(self, config: AppConfig, *, name: str) -> None:
        self.config, self.name = config, name
        self.log = config.var_dir / f"{name}.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def spawn(self) -> None:
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            # Django answers no lifespan events; "auto" would only log that it tried.
            "--lifespan",
            "off",
        ]
        self.process = spawn(
            command, log=self.log, env=self.config.environment(site_url=self.url), cwd=BASE_DIR
        )

    def wait_ready(self, *, timeout: float = 30) -> None:
        assert self.process is not None
        wait_until(
            partial(healthy, self.url),
            process=self.process,
            what=f"app process {self.name}",
            log=self.log,
            timeout=timeout,
        )

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def log_text(self) -> str:
        return log_tail(self.log, chars=6000)


class WorkerProcess:
    """One `carecall worker` child: it processes Stripe's webhooks (the web processes only store
    them) and runs the periodic jobs. It reaches the web processes' sockets through Redis."""

    def __init__(self, config: AppConfig, *, name: str = "worker") -> None:
        self.config, self.name = config, name
        self.log = config.var_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        self.process = spawn(
            [sys.executable, "-m", "carecall.cli", "worker"],
            log=self.log,
            env=self.config.environment(),
            cwd=BASE_DIR,
        )

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


@contextmanager
def app_processes(
    config: AppConfig, *names: str, worker: bool | None = None
) -> Iterator[list[AppProcess]]:
    """Start one app process per name, all at once (they boot in parallel), and stop them all.

    With `worker` (the default when the deployment has Redis, which is how a worker's live
    events reach the web processes) a `carecall worker` process runs beside them."""
    config.var_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if worker if worker is not None else config.redis_url is not None:
            worker_process = WorkerProcess(config)
            stack.callback(worker_process.stop)
            worker_process.spawn()
        apps = [AppProcess(config, name=name) for name in names]
        for app in apps:
            stack.callback(app.stop)
            app.spawn()
        for app in apps:
            try:
                app.wait_ready()
            except RuntimeError:
                # Most likely another process took the free port first: one more try elsewhere.
                app.stop()
                app.spawn()
                app.wait_ready()
        yield apps
