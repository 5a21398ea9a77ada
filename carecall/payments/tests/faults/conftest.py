"""Fixtures of the fault catalogue: each scenario's status history, and a Redis that is down."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from channels.layers import channel_layers

from carecall.payments.tests.faults.invariants import StatusHistory, status_history
from testsupport.redis_server import throwaway_redis


@pytest.fixture
def history() -> Iterator[StatusHistory]:
    with status_history() as seen:
        yield seen


def _pubsub_layer(url: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url]},
        }
    }


@pytest.fixture
def redis_stopped(settings: Any) -> Iterator[str]:
    """The channel layer points at a real Redis that was started and then stopped: every
    connection to it is refused (production's REDIS_URL with Redis down)."""
    with throwaway_redis() as url:
        pass
    settings.CHANNEL_LAYERS = _pubsub_layer(url)
    channel_layers.backends.clear()
    yield url
    channel_layers.backends.clear()


@pytest.fixture
def redis_hung(settings: Any) -> Iterator[str]:
    """A real Redis that accepts connections but answers nothing (SIGSTOP: a stalled host)."""
    with throwaway_redis() as url:
        port = url.rsplit(":", 1)[1].split("/")[0]
        pid = int(subprocess.check_output(["pgrep", "-f", f"redis-server.*[: ]{port}"]).split()[0])
        settings.CHANNEL_LAYERS = _pubsub_layer(url)
        channel_layers.backends.clear()
        os.kill(pid, signal.SIGSTOP)
        try:
            yield url
        finally:
            os.kill(pid, signal.SIGCONT)
            channel_layers.backends.clear()
