"""How many websockets one person may hold open at once (issue 11: 60 were accepted for one
patient). Counted per process, in memory: a socket takes a place when it connects and gives it
back when it goes, so a crashed process leaves nothing behind. With several web processes
(Redis) one person can hold at most the cap on each of them.

Keys: `("participant", <id>)` for every call socket (a patient's, a guest's, a clinician's in
one call), `("waiting", <user id>, <clinic id>)` for a staff user's waiting-area sockets.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable

CAP_CLOSE_CODE = 4429  # as for too many messages: too much from one person, try again later


class SocketCaps:
    def __init__(self) -> None:
        self._open: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def take(self, key: Hashable, *, limit: int) -> bool:
        """A place for one more socket under `key`, if fewer than `limit` are open."""
        with self._lock:
            held = self._open.get(key, 0)
            if held >= limit:
                return False
            self._open[key] = held + 1
            return True

    def give_back(self, key: Hashable) -> None:
        with self._lock:
            held = self._open.get(key, 0) - 1
            if held > 0:
                self._open[key] = held
            else:
                self._open.pop(key, None)

    def held(self, key: Hashable) -> int:
        with self._lock:
            return self._open.get(key, 0)

    def reset(self) -> None:
        with self._lock:
            self._open.clear()


socket_caps = SocketCaps()
