"""A throwaway Redis on 127.0.0.1 for tests that run several app processes (channels-redis).

No persistence (`--save ''`, `--appendonly no`) and its working folder is temporary, so nothing
outlives the test. Missing `redis-server` skips locally and fails in CI (services.py).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from testsupport.processes import log_tail, spawn, stop, wait_until
from testsupport.services import free_port, require_executable


def redis_ping(port: int) -> bool:
    """True once Redis answers PING: accepting the connection is not enough, it may be loading."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """Start redis-server on a free port; yield its REDIS_URL; stop it and remove its folder."""
    executable = require_executable("redis-server", why="multi-process tests use Redis")
    folder = Path(tempfile.mkdtemp(prefix="carecall-redis-"))
    log = folder / "redis.log"
    try:
        # free_port() can lose a race with another process between our probe and Redis' bind;
        # a fresh port is the fix, so try a few.
        for _attempt in range(3):
            port = free_port()
            process = spawn(
                [
                    executable,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(folder),
                    "--protected-mode",
                    "yes",
                ],
                log=log,
            )
            try:
                wait_until(
                    partial(redis_ping, port),
                    process=process,
                    what="redis-server",
                    log=log,
                )
            except RuntimeError:
                stop(process)
                continue
            try:
                yield f"redis://127.0.0.1:{port}/0"
            finally:
                stop(process)
            return
        raise RuntimeError(f"redis-server did not start:\n{log_tail(log)}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
