"""Live delivery between websockets: direct inside a process, Redis pub/sub between processes.

Every open websocket registers with this process's `hub` under the groups it listens to
(`events.call_group`, `participant_group`, `waiting_group`, `user_group`). A publish hands the
event straight to the local members of the group, on their event loop, with no channel layer in
between: the stock in-memory layer sweeps every channel and group on each send and receive,
which was half the server's CPU at 1,000 calls (docs/realtime.md). When `REDIS_URL` is set the
hub also publishes the event once on channels-redis' pub/sub layer, and one subscription per
process and group (not per socket) brings other processes' events in; an event carries its
process of origin so that it is never delivered twice.

Members are delivered to from any thread (services announce after commit in worker threads):
`Member.deliver` must not block and must be safe to call off the member's loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
from channels_redis.utils import create_pool
from django.conf import settings
from redis.asyncio import Redis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One live event: the message as the browser receives it, and whom to skip."""

    payload: dict[str, Any]
    exclude: str | None = None

    @cached_property
    def text(self) -> str:
        # Serialised once, however many sockets of this process receive it.
        return json.dumps(self.payload)


class Member(Protocol):
    def deliver(self, event: Event) -> None:
        """Take an event; called from any thread, must not block."""


@dataclass(eq=False)  # members live in sets: identity, not contents
class Listener:
    """A member that only collects what it is sent (for jobs and tests that watch a group)."""

    events: list[Event] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def take(self) -> list[Event]:
        with self._lock:
            taken, self.events = self.events, []
        return taken


# Events waiting to go to Redis, at most: past this (Redis away for long) the oldest are
# dropped and logged; pages heal from their snapshots when they reconnect.
OUTGOING_LIMIT = 20_000
PUBLISH_BATCH = 500


class _Bridge:
    """The way to other processes: channels-redis' pub/sub layer, bound to one event loop.

    Subscriptions and receiving go through the layer. Publishing does not await the layer's
    `group_send`: that takes one Redis round trip per event under a lock the whole process
    shares (with every subscribe), so at a few hundred signals a second the events queued
    behind each other for seconds (bench/README.md). Instead `publish` queues the event and
    one sender task writes everything queued so far in one pipeline (one round trip), in
    order, to the same Redis channel and in the same format as `group_send`."""

    def __init__(self, hub: Hub, layer: BaseChannelLayer, loop: asyncio.AbstractEventLoop) -> None:
        self.hub, self.layer, self.loop = hub, layer, loop
        self.origin = uuid.uuid4().hex
        self.channel: str | None = None
        self.subscribed: set[str] = set()
        self.locks: dict[str, asyncio.Lock] = {}
        self.ready = asyncio.Lock()
        self.pump: asyncio.Task[None] | None = None
        self.outgoing: deque[tuple[str, dict[str, Any]]] = deque()
        self.sender: asyncio.Task[None] | None = None
        self.clients: dict[str, Any] = {}  # Redis clients for publishing, by host

    async def _channel(self) -> str:
        async with self.ready:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self.pump = asyncio.ensure_future(self._receive_forever(self.channel))
        return self.channel

    async def sync_subscription(self, group: str) -> None:
        """Subscribe while the group has local members, unsubscribe once it has none."""
        channel = await self._channel()
        lock = self.locks.setdefault(group, asyncio.Lock())
        async with lock:
            wanted = self.hub.has_members(group)
            if wanted and group not in self.subscribed:
                await self.layer.group_add(group, channel)
                self.subscribed.add(group)
            elif not wanted and group in self.subscribed:
                await self.layer.group_discard(group, channel)
                self.subscribed.discard(group)
        if not self.hub.has_members(group) and not lock.locked():
            self.locks.pop(group, None)

    def publish(self, group: str, event: Event) -> None:
        """Queue the event for other processes; on this bridge's loop. Never waits for Redis."""
        message = {
            "type": "carecall.event",
            "group": group,
            "payload": event.payload,
            "exclude": event.exclude,
            "origin": self.origin,
        }
        if len(self.outgoing) >= OUTGOING_LIMIT:
            self.outgoing.popleft()
            log.warning("realtime: Redis is behind, an event for other processes was dropped")
        self.outgoing.append((group, message))
        if self.sender is None:
            self.sender = self.loop.create_task(self._send_queued(), context=contextvars.Context())

    async def _send_queued(self) -> None:
        try:
            while self.outgoing:
                count = min(len(self.outgoing), PUBLISH_BATCH)
                batch = [self.outgoing.popleft() for _ in range(count)]
                try:
                    await self._publish_batch(batch)
                except asyncio.CancelledError:
                    raise
                except Exception:  # Redis away: these are lost (logged); do not spin
                    log.exception("realtime: publishing %d events to Redis failed", len(batch))
                    await asyncio.sleep(0.5)
        finally:
            self.sender = None

    async def _publish_batch(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        loop_layer = self.layer._get_layer()
        by_host: dict[str, list[tuple[str, bytes]]] = {}
        hosts: dict[str, Any] = {}
        for group, message in batch:
            # As channels-redis' group_send names and shards a group's channel.
            channel = loop_layer._get_group_channel_name(group)
            shard = loop_layer._get_shard(channel)
            key = repr(shard.host)
            hosts[key] = shard.host
            by_host.setdefault(key, []).append((channel, self.layer.serialize(message)))
        for key, items in by_host.items():
            client = self.clients.get(key)
            if client is None:
                client = self.clients[key] = Redis(connection_pool=create_pool(hosts[key]))
            async with client.pipeline(transaction=False) as pipe:
                for channel, data in items:
                    pipe.publish(channel, data)
                await pipe.execute()

    async def _receive_forever(self, channel: str) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: channels-redis reconnects; do not spin
                log.exception("realtime: receiving from the channel layer failed")
                await asyncio.sleep(1)
                continue
            if message.get("origin") == self.origin:
                continue  # ours: its local members already have it
            self.hub.deliver_local(
                message["group"], Event(payload=message["payload"], exclude=message.get("exclude"))
            )


class Hub:
    """This process's groups and their local members."""

    def __init__(self) -> None:
        self._groups: dict[str, set[Member]] = {}
        self._lock = threading.Lock()
        self._bridge: _Bridge | None = None

    # ------------------------------------------------------------ membership

    def has_members(self, group: str) -> bool:
        with self._lock:
            return bool(self._groups.get(group))

    def local_count(self) -> int:
        with self._lock:
            return len({id(m) for members in self._groups.values() for m in members})

    def add(self, group: str, member: Member) -> None:
        """Local only: for members that need nothing from other processes (and tests)."""
        with self._lock:
            self._groups.setdefault(group, set()).add(member)

    def discard(self, group: str, member: Member) -> None:
        with self._lock:
            members = self._groups.get(group)
            if members is not None:
                members.discard(member)
                if not members:
                    del self._groups[group]

    async def join(self, group: str, member: Member) -> None:
        """Add a member; once this returns, events published anywhere reach it."""
        self.add(group, member)
        bridge = self._bridge_for_this_loop()
        if bridge is not None:
            await bridge.sync_subscription(group)

    async def leave(self, group: str, member: Member) -> None:
        self.discard(group, member)
        bridge = self._bridge_for_this_loop()
        if bridge is not None:
            await bridge.sync_subscription(group)

    # ------------------------------------------------------------ delivery

    def deliver_local(self, group: str, event: Event) -> int:
        with self._lock:
            members = tuple(self._groups.get(group, ()))
        for member in members:
            try:
                member.deliver(event)
            except Exception:  # one broken member must not cost the others their event
                log.exception("realtime: delivering to a member of %s failed", group)
        return len(members)

    async def publish(self, group: str, event: Event) -> None:
        """From async code on this process's loop (a websocket relaying a message)."""
        self.deliver_local(group, event)
        bridge = self._bridge_for_this_loop()
        if bridge is not None:
            bridge.publish(group, event)

    def publish_from_sync(self, group: str, event: Event) -> None:
        """From sync code in a worker thread (services after commit). A lost cross-process
        publish is logged, never raised: the change is committed, and every page heals from its
        snapshot on reconnect."""
        self.deliver_local(group, event)
        if not cross_process():
            return
        bridge = self._bridge
        try:
            if bridge is not None and bridge.loop.is_running() and not _on_loop(bridge.loop):
                bridge.loop.call_soon_threadsafe(bridge.publish, group, event)
            else:
                # No socket has opened in this process yet (a job, the worker): publish alone.
                async_to_sync(_publish_once)(group, event)
        except Exception:
            log.exception("realtime: publishing to %s failed", group)

    # ------------------------------------------------------------ the bridge

    def _bridge_for_this_loop(self) -> _Bridge | None:
        if not cross_process():
            return None
        loop = asyncio.get_running_loop()
        if self._bridge is None or self._bridge.loop is not loop:
            layer = get_channel_layer()
            if layer is None:
                return None
            self._bridge = _Bridge(self, layer, loop)
        return self._bridge

    def reset(self) -> None:
        """Forget every member and the bridge (tests, between event loops)."""
        with self._lock:
            self._groups.clear()
        if self._bridge is not None:
            for task in (self._bridge.pump, self._bridge.sender):
                if task is not None:
                    task.cancel()
        self._bridge = None


async def _publish_once(group: str, event: Event) -> None:
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(
            group,
            {
                "type": "carecall.event",
                "group": group,
                "payload": event.payload,
                "exclude": event.exclude,
                "origin": "",
            },
        )


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def cross_process() -> bool:
    """Other processes exist to reach: a channel layer is configured (Redis pub/sub)."""
    return bool(getattr(settings, "CHANNEL_LAYERS", None))


hub = Hub()
