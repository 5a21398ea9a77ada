"""The hub's way to other processes, on a real Redis: events arrive once each and in order,
and a stalled Redis holds up neither the publisher nor this process's own sockets."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from channels.layers import channel_layers

from carecall.calls.realtime import Event, Hub, Listener
from testsupport.redis_server import throwaway_redis

pytestmark = pytest.mark.asyncio


def _layers(url: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url]},
        }
    }


@pytest.fixture
def redis(settings: Any) -> Iterator[str]:
    with throwaway_redis() as url:
        settings.CHANNEL_LAYERS = _layers(url)
        channel_layers.backends.clear()
        yield url
        channel_layers.backends.clear()


async def _until(listener: Listener, count: int, seconds: float = 5) -> list[Event]:
    got: list[Event] = []
    deadline = time.monotonic() + seconds
    while len(got) < count and time.monotonic() < deadline:
        got.extend(listener.take())
        await asyncio.sleep(0.01)
    return got


async def test_a_burst_published_on_one_hub_reaches_another_once_each_and_in_order(
    redis: str,
) -> None:
    """Two hubs stand for two processes (each its own bridge and origin, one Redis)."""
    here, there = Hub(), Hub()
    local, remote = Listener(), Listener()
    try:
        await here.join("call.x", local)
        await there.join("call.x", remote)
        for n in range(1000):  # faster than one Redis round trip each
            await here.publish("call.x", Event(payload={"type": "signal", "n": n}))
        received = await _until(remote, 1000)
        assert [e.payload["n"] for e in received] == list(range(1000))
        assert [e.payload["n"] for e in local.take()] == list(range(1000))  # no echo back
        await asyncio.sleep(0.2)
        assert remote.take() == [] and local.take() == []
    finally:
        here.reset()
        there.reset()


async def test_a_stalled_redis_holds_up_neither_the_publisher_nor_local_sockets(
    settings: Any,
) -> None:
    with throwaway_redis() as url:
        port = url.rsplit(":", 1)[1].split("/")[0]
        pid = int(subprocess.check_output(["pgrep", "-f", f"redis-server.*[: ]{port}"]).split()[0])
        settings.CHANNEL_LAYERS = _layers(url)
        channel_layers.backends.clear()
        hub, local = Hub(), Listener()
        hub.add("call.x", local)  # a socket of this process (joining would subscribe)
        os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            for n in range(200):
                await asyncio.wait_for(
                    hub.publish("call.x", Event(payload={"type": "signal", "n": n})), 1
                )
            assert time.monotonic() - started < 1
            assert [e.payload["n"] for e in local.take()] == list(range(200))
        finally:
            hub.reset()
            os.kill(pid, signal.SIGCONT)
            channel_layers.backends.clear()
