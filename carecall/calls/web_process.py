"""One web process per database when there is no Redis.

Without `REDIS_URL` live events go from socket to socket inside one process (realtime.hub): a
second web process on the same database would hear none of the first one's signals, and its
start would reset the connection counts of the first one's sockets. So a web process without a
channel layer claims the database for itself, for as long as it lives:

- SQLite: `flock` on `<database file>.web-process.lock`, next to the database.
- PostgreSQL: a session advisory lock, held by a connection of its own (not one of Django's,
  which are closed and reopened freely).

A second process on the same database then stops at start with `WEB_PROCESS_TAKEN`. The lock
goes with the process (the kernel drops the flock, PostgreSQL the session), so a killed server
never leaves it behind. An in-memory SQLite database is private to its process: nothing to claim.
Other engines are not checked.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils.translation import gettext as _

from carecall.calls.realtime import cross_process

# pg_try_advisory_lock's key: any fixed 64-bit number that no other lock of ours uses.
ADVISORY_LOCK_KEY = 0x43_61_72_65_43_61_6C_6C  # "CareCall"

_held: list[Any] = []  # the lock file or the connection holding the lock, for the process's life
_guard = threading.Lock()


class WebProcessTaken(Exception):
    """Another web process without Redis already serves this database."""


def web_process_taken_message() -> str:
    return _(
        "another CareCall web process already serves this database without REDIS_URL "
        "(live events would reach only the sockets of the process that sent them); "
        "stop it, or set REDIS_URL on every web process."
    )


def web_process_claim() -> None:
    """Claim the database for this web process when there is no channel layer. Raises
    WebProcessTaken if another process holds it; a no-op once claimed, or with Redis."""
    if cross_process():
        return
    with _guard:
        if _held:
            return
        database = settings.DATABASES["default"]
        engine = str(database["ENGINE"])
        if engine.endswith("sqlite3"):
            held = _claim_sqlite(str(database["NAME"]))
        elif engine.endswith("postgresql"):
            # Not on an event loop's thread (uvicorn imports the application inside one, and
            # Django refuses database work there).
            held = _in_a_thread(_claim_postgresql)
        else:
            return
        if held is not None:
            _held.append(held)


def web_process_release() -> None:
    """Give the claim back (tests; a process's end does this by itself)."""
    with _guard:
        while _held:
            held = _held.pop()
            if isinstance(held, int):
                os.close(held)
            else:
                _in_a_thread(held.close)


def _claim_sqlite(name: str) -> int | None:
    if name == ":memory:" or name.startswith("file::memory:") or "mode=memory" in name:
        return None
    path = Path(name).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not inherited by programs this process starts (os.open's default), so none can keep it.
    fd = os.open(f"{path}.web-process.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise WebProcessTaken(web_process_taken_message()) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for whoever looks
    return fd


def _claim_postgresql() -> Any:
    wrapper = connections.create_connection("default")  # not in `connections`: never recycled
    wrapper.ensure_connection()
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        (taken,) = cursor.fetchone()
    if not taken:
        wrapper.close()
        raise WebProcessTaken(web_process_taken_message())
    return wrapper


def _in_a_thread(func: Any) -> Any:
    result: list[Any] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(func())
        except BaseException as raised:  # handed to the caller below
            error.append(raised)

    thread = threading.Thread(target=run, name="web-process-claim")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0] if result else None
