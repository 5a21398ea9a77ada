"""Heartbeats in batches: a ping is remembered in memory and written with everyone else's.

Pages ping every 25 s; at 1,000 calls that was 80 statements a second, one per ping, each a
thread hop. Now a ping costs a set insertion, and every FLUSH_EVERY one UPDATE stamps all the
participants seen since (services.participants_seen, which still skips rows stamped within
SEEN_EVERY). FLUSH_EVERY is far below selectors.STALE_AFTER, so a live person never looks gone.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from channels.db import database_sync_to_async

from carecall.calls.services import participants_seen

log = logging.getLogger(__name__)

FLUSH_EVERY = 10.0  # seconds


class Heartbeats:
    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._flushers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}

    def note(self, participant_id: str) -> None:
        with self._lock:
            self._seen.add(participant_id)
        loop = asyncio.get_running_loop()
        flusher = self._flushers.get(loop)
        if flusher is None or flusher.done():
            self._flushers[loop] = loop.create_task(self._flush_forever())

    def forget(self, participant_id: str) -> None:
        """Their socket closed: its disconnect writes what matters (the count)."""
        with self._lock:
            self._seen.discard(participant_id)

    def pending(self) -> set[str]:
        with self._lock:
            return set(self._seen)

    async def flush(self) -> int:
        """Write every heartbeat noted so far; returns how many rows took a stamp."""
        with self._lock:
            seen, self._seen = self._seen, set()
        if not seen:
            return 0
        return int(await database_sync_to_async(participants_seen)(participant_ids=seen))

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            try:
                await self.flush()
            except Exception:  # the database is away: the next round tries again
                log.exception("presence: writing heartbeats failed")

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()
        for task in self._flushers.values():
            task.cancel()
        self._flushers.clear()


heartbeats = Heartbeats()
