"""Every case of the websocket catalogue (ws_cases.py), through the whole ASGI application:
the frame is answered with its close code and reason (or an `error` message), and every row
of every table is as it was (but the presence counters an open socket moves)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from carecall.calls.socket_caps import socket_caps
from carecall.calls.tests.ws import Socket, Sockets, db, start_call, waiting_path
from carecall.payments.tests.bad_input.ws_cases import WS_CASES, WsCase
from testsupport.db_snapshot import database_snapshot, snapshot_changes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

# Moved by a socket opening and closing, not by what it sends.
PRESENCE = {"calls.Participant": {"connections", "last_seen_at", "connected_at", "disconnected_at"}}


@pytest_asyncio.fixture
async def sockets(db: None) -> AsyncIterator[Sockets]:
    opened = Sockets()
    try:
        yield opened
    finally:
        await opened.close_all()


@pytest.fixture(autouse=True)
def _fresh_socket_caps() -> Iterator[None]:
    socket_caps.reset()
    yield
    socket_caps.reset()


async def _socket(sockets: Sockets, world: Any, case: WsCase) -> tuple[Socket, str]:
    """The case's socket, open, and the id of the other person in the call."""
    if case.socket == "waiting":
        socket = await sockets.user(world.clinician, waiting_path(world.harbour.pk))
        await socket.open()
        return socket, ""
    call = await start_call(sockets, world.harbour, world.clinician)
    if case.socket == "patient":
        return call.patient, call.clinician_id
    return call.clinician, call.patient_id


@pytest.mark.parametrize("case", WS_CASES, ids=[c.id for c in WS_CASES])
async def test_a_bad_frame_is_answered_with_a_reason_and_changes_nothing(
    sockets: Sockets, world: Any, case: WsCase
) -> None:
    if case.frame is None:
        user = world.clinician if case.socket in ("waiting", "clinician") else None
        socket = await sockets.user(user, case.path)
        code, reason = await socket.refused()
        assert (code, case.says) == (case.close, reason)
        return
    socket, other = await _socket(sockets, world, case)
    before = await db(database_snapshot)(ignore=PRESENCE)

    if isinstance(case.frame, bytes):
        await socket.send_bytes(case.frame.replace(b"OTHER", other.encode()))
    else:
        await socket.send_text(case.frame.replace("OTHER", other))

    if case.close is None:
        error = await socket.until("error")
        assert case.says in error["message"]
        await socket.close()
    else:
        code, reason = await socket.until_closed()
        assert code == case.close and case.says in reason, (code, reason)
    await sockets.close_all()
    after = await db(database_snapshot)(ignore=PRESENCE)
    assert snapshot_changes(before, after) == {}
