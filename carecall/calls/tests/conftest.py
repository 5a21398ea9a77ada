"""Fixtures for the call and waiting-area tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from channels.layers import channel_layers

from carecall.calls.presence import heartbeats
from carecall.calls.realtime import hub
from carecall.calls.socket_caps import socket_caps
from carecall.calls.tests.ws import Sockets


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    """Each test starts with no live members, heartbeats or channel layer (nothing carries
    over between tests' event loops)."""
    hub.reset()
    heartbeats.reset()
    socket_caps.reset()
    channel_layers.backends.clear()
    yield
    hub.reset()
    heartbeats.reset()
    socket_caps.reset()
    channel_layers.backends.clear()


@pytest_asyncio.fixture
async def sockets(db: None) -> AsyncIterator[Sockets]:
    """Opens websockets for a test and disconnects all of them afterwards, pass or fail."""
    opened = Sockets()
    try:
        yield opened
    finally:
        await opened.close_all()
