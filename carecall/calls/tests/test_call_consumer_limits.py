"""Websocket guards: a foreign Origin, and messages that are too big, too fast, not JSON or not a
declared message, close the socket with a code and a reason."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.test import override_settings

from carecall.calls.schemas import PongOut, parse_outbound
from carecall.calls.tests.ws import (
    Socket,
    Sockets,
    db,
    enter,
    participant,
    patient_id,
    patient_path,
    session_cookie,
    start_call,
    waiting_path,
)
from testsupport.world import World

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def waiting_patient(world: World, sockets: Sockets) -> tuple[Socket, str]:
    """A patient in Harbour GP's waiting area with their socket open. Returns (socket, id)."""
    visit, token = await db(enter)(world.harbour)
    socket = sockets.new(patient_path(token))
    await socket.open()
    return socket, await db(patient_id)(visit)


# ---------------------------------------------------------------- Origin


@pytest.mark.parametrize(
    "origin",
    [b"http://evil.example", b"https://testserver.evil.example", b"null", None],
    ids=["other-site", "look-alike", "null", "no-origin"],
)
async def test_a_foreign_or_missing_origin_is_closed_with_4403_and_a_reason(
    world: World, sockets: Sockets, origin: bytes | None
) -> None:
    visit, token = await db(enter)(world.harbour)
    patient = sockets.new(patient_path(token), origin=origin)
    # Accepted then closed, so that the browser sees why (a refused handshake says nothing).
    assert await patient.refused() == (4403, "origin not allowed")
    assert (await db(participant)(await db(patient_id)(visit))).connections == 0

    cookie = await db(session_cookie)(world.clinician)
    staff = sockets.new(waiting_path(world.harbour.pk), cookie=cookie, origin=origin)
    assert await staff.refused() == (4403, "origin not allowed")


@pytest.mark.parametrize("origin", [b"http://testserver", b"http://localhost:8000"])
async def test_an_origin_on_an_allowed_host_is_accepted(
    world: World, sockets: Sockets, origin: bytes
) -> None:
    _visit, token = await db(enter)(world.harbour)
    patient = sockets.new(patient_path(token), origin=origin)
    assert (await patient.open())["type"] == "welcome"


# ---------------------------------------------------------------- size


@override_settings(WS_MAX_MESSAGE_BYTES=1024)
async def test_a_message_over_the_size_limit_closes_the_call_socket(
    world: World, sockets: Sockets
) -> None:
    patient, _pid = await waiting_patient(world, sockets)

    exactly = json.dumps({"type": "media", "audio": True, "video": False})
    exactly += " " * (1024 - len(exactly))
    await patient.send_text(exactly)
    await patient.send({"type": "ping"})
    assert await patient.expect("pong") == {"type": "pong"}

    await patient.send_text(exactly + " ")
    assert await patient.closed() == (4413, "message too big")


@override_settings(WS_MAX_MESSAGE_BYTES=1024)
async def test_the_size_limit_counts_bytes_not_characters(world: World, sockets: Sockets) -> None:
    patient, pid = await waiting_patient(world, sockets)
    sdp = "é" * 500  # 500 characters, 1,000 bytes
    await patient.send({"type": "signal", "to": pid, "description": {"type": "offer", "sdp": sdp}})
    assert await patient.closed() == (4413, "message too big")


@override_settings(WS_MAX_MESSAGE_BYTES=1024)
async def test_a_binary_frame_over_the_size_limit_is_refused_too(
    world: World, sockets: Sockets
) -> None:
    patient, _pid = await waiting_patient(world, sockets)
    await patient.send_bytes(b'{"type": "ping"}' + b" " * 1024)
    assert await patient.closed() == (4413, "message too big")


@override_settings(WS_MAX_MESSAGE_BYTES=1024)
async def test_a_message_over_the_size_limit_closes_the_waiting_area_socket(
    world: World, sockets: Sockets
) -> None:
    watcher = await sockets.user(world.clinician, waiting_path(world.harbour.pk))
    await watcher.open()
    await watcher.send_text('{"type": "ping"}' + " " * 1024)
    assert await watcher.closed() == (4413, "message too big")


# ---------------------------------------------------------------- rate


@override_settings(WS_RATE_BURST=3, WS_RATE_PER_SECOND=1)
async def test_a_burst_over_the_rate_limit_closes_the_call_socket(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    for _ in range(3):
        await call.clinician.send({"type": "ping"})
    for _ in range(3):
        await call.clinician.expect("pong")
    await call.clinician.send({"type": "ping"})
    assert await call.clinician.closed() == (4429, "too many messages")
    # Only the flooding socket is closed.
    await call.patient.send({"type": "ping"})
    assert await call.patient.expect("pong") == {"type": "pong"}


@override_settings(WS_RATE_BURST=2, WS_RATE_PER_SECOND=20)
async def test_the_rate_limit_refills_over_time(world: World, sockets: Sockets) -> None:
    patient, _pid = await waiting_patient(world, sockets)
    for _ in range(3):  # a full burst, a pause to refill (20/s), again: never too many
        await patient.send({"type": "ping"})
        await patient.send({"type": "ping"})
        await patient.expect("pong")
        await patient.expect("pong")
        await asyncio.sleep(0.12)
    for _ in range(10):  # 10 at once: a burst of 2 and a trickle of refill, then closed
        await patient.send({"type": "ping"})
    pongs = 0
    while (output := await patient.receive_raw())["type"] == "websocket.send":
        assert parse_outbound(json.loads(output["text"])) == PongOut()
        pongs += 1
    assert (output["code"], output["reason"]) == (4429, "too many messages")
    assert 2 <= pongs < 10


@override_settings(WS_RATE_BURST=2, WS_RATE_PER_SECOND=1)
async def test_a_burst_over_the_rate_limit_closes_the_waiting_area_socket(
    world: World, sockets: Sockets
) -> None:
    watcher = await sockets.user(world.clinician, waiting_path(world.harbour.pk))
    await watcher.open()
    for _ in range(2):
        await watcher.send({"type": "ping"})
        await watcher.expect("pong")
    await watcher.send({"type": "ping"})
    assert await watcher.closed() == (4429, "too many messages")


# ---------------------------------------------------------------- bad messages


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ping", "not JSON"),
        ("{'type': 'ping'}", "not JSON"),
        ("[]", "a message must be a JSON object"),
        ('"ping"', "a message must be a JSON object"),
        ('{"type": "shout"}', "unknown message type 'shout'"),
        ('{"kind": "ping"}', "unknown message type None"),
        ('{"type": "ping", "x": 1}', "ping has unknown fields: x"),
        ('{"type": "media", "audio": true}', "media needs the field video"),
        ('{"type": "media", "audio": "on", "video": true}', "media.audio must be true or false"),
        (
            '{"type": "signal", "to": "someone", "candidate": {"candidate": ""}}',
            "to must be a participant id",
        ),
        ('{"type": "welcome"}', "unknown message type 'welcome'"),
    ],
)
async def test_a_bad_message_closes_the_socket_with_the_reason(
    world: World, sockets: Sockets, text: str, reason: str
) -> None:
    patient, _pid = await waiting_patient(world, sockets)
    await patient.send_text(text)
    assert await patient.closed() == (4400, reason)


async def test_a_binary_frame_that_is_not_text_is_refused_as_not_json(
    world: World, sockets: Sockets
) -> None:
    patient, _pid = await waiting_patient(world, sockets)
    await patient.send_bytes(b"\xff\xfe\x00")
    assert await patient.closed() == (4400, "not JSON")


async def test_a_json_message_in_a_binary_frame_is_understood(
    world: World, sockets: Sockets
) -> None:
    patient, _pid = await waiting_patient(world, sockets)
    await patient.send_bytes(b'{"type": "ping"}')
    assert await patient.expect("pong") == {"type": "pong"}


async def test_a_closed_socket_frees_its_place_and_is_announced(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    await call.patient.send_text("nonsense")
    assert await call.patient.closed() == (4400, "not JSON")
    await call.patient.close()
    assert await call.clinician.receive() == {
        "type": "participant_connection",
        "id": call.patient_id,
        "connected": False,
    }
    assert (await db(participant)(call.patient_id)).connections == 0


# Valid JSON that Python's parser cannot turn into objects (nesting deeper than the recursion
# limit; an integer longer than 4,300 digits) must be a bad message (4400) like any other, not an
# exception inside the consumer (no close reason, disconnect() never runs, the participant stays
# "connected" for everyone else).
UNPARSABLE_JSON = {
    "deeply-nested": '{"type": "ping", "x": ' + "[" * 5000 + "]" * 5000 + "}",
    "huge-integer": '{"type": "ping", "x": ' + "9" * 5000 + "}",
}


@pytest.mark.parametrize("text", UNPARSABLE_JSON.values(), ids=UNPARSABLE_JSON.keys())
async def test_json_python_cannot_parse_is_refused_as_a_bad_message(
    world: World, sockets: Sockets, text: str
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    assert len(text.encode()) < 64 * 1024  # well within the default size limit

    await call.patient.send_text(text)
    try:
        code, reason = await call.patient.closed(timeout=0.5)
    except Exception as crash:
        pytest.fail(f"the consumer crashed instead of closing with 4400: {crash!r}")
    assert code == 4400
    assert reason  # says what was wrong, whatever the wording
    await call.patient.close()
    assert (await db(participant)(call.patient_id)).connections == 0
