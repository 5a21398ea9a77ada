"""One person may hold only so many websockets open: over the cap a new one is closed with 4429
and a reason, and a socket that goes gives its place back."""

from __future__ import annotations

import pytest
from django.test import override_settings

from carecall.calls.socket_caps import socket_caps
from carecall.calls.tests.ws import (
    Sockets,
    db,
    enter,
    participant,
    patient_id,
    patient_path,
    staff_path,
    start_call,
    waiting_path,
)
from testsupport.world import World

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

OVER_CAP = (4429, "too many connections open")


@override_settings(WS_SOCKETS_PER_PARTICIPANT=3)
async def test_a_patient_over_the_socket_cap_is_refused_and_a_closed_socket_frees_a_place(
    world: World, sockets: Sockets
) -> None:
    visit, token = await db(enter)(world.harbour)
    pid = await db(patient_id)(visit)
    opened = [sockets.new(patient_path(token)) for _ in range(3)]
    for socket in opened:
        assert (await socket.open())["type"] == "welcome"

    assert await sockets.new(patient_path(token)).refused() == OVER_CAP
    assert await sockets.new(patient_path(token)).refused() == OVER_CAP
    # The refused ones were never counted as connections.
    assert (await db(participant)(pid)).connections == 3

    await opened[0].close()
    assert (await sockets.new(patient_path(token)).open())["type"] == "welcome"
    assert await sockets.new(patient_path(token)).refused() == OVER_CAP


@override_settings(WS_SOCKETS_PER_PARTICIPANT=2)
async def test_a_clinician_in_a_call_is_capped_too_and_the_others_in_the_call_are_not(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)  # one socket each
    second = await sockets.user(world.clinician, staff_path(call.visit.pk))
    assert (await second.open())["type"] == "welcome"
    third = await sockets.user(world.clinician, staff_path(call.visit.pk))
    assert await third.refused() == OVER_CAP
    # The patient's own place is theirs: a second tab of the patient is still welcome.
    assert (await sockets.new(patient_path(call.token)).open())["type"] == "welcome"


@override_settings(WS_SOCKETS_PER_WAITING_AREA=2)
async def test_a_staff_user_over_the_waiting_area_cap_is_refused_and_a_colleague_is_not(
    world: World, sockets: Sockets
) -> None:
    path = waiting_path(world.harbour.pk)
    for _ in range(2):
        socket = await sockets.user(world.clinician, path)
        assert (await socket.open())["type"] == "waiting_snapshot"
    assert await (await sockets.user(world.clinician, path)).refused() == OVER_CAP
    colleague = await sockets.user(world.clinic_admin, path)
    assert (await colleague.open())["type"] == "waiting_snapshot"


@override_settings(WS_SOCKETS_PER_PARTICIPANT=2, WS_SOCKETS_PER_WAITING_AREA=2)
async def test_every_place_is_given_back_when_the_sockets_go(
    world: World, sockets: Sockets
) -> None:
    visit, token = await db(enter)(world.harbour)
    pid = await db(patient_id)(visit)
    for _ in range(2):
        await sockets.new(patient_path(token)).open()
        await (await sockets.user(world.clinician, waiting_path(world.harbour.pk))).open()
    await sockets.new(patient_path(token)).refused()
    assert socket_caps.held(("participant", pid)) == 2
    assert socket_caps.held(("waiting", world.clinician.pk, world.harbour.pk)) == 2

    await sockets.close_all()
    assert socket_caps.held(("participant", pid)) == 0
    assert socket_caps.held(("waiting", world.clinician.pk, world.harbour.pk)) == 0
