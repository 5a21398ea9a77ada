"""Access is checked at connect *and* whenever it changes: a member removed from the clinic or
an account deactivated loses the live waiting area and the call within moments (4403), in
this process and in others (e2e/test_two_processes_redis.py); a change that keeps access
closes nothing."""

from __future__ import annotations

import asyncio

import pytest

from carecall.calls.tests.ws import Call, Socket, Sockets, db, start_call, waiting_path
from carecall.orgs.models import Role
from carecall.orgs.services import membership_change_role, membership_remove
from testsupport.world import World

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

CLOSED_WITHIN = 2.0  # seconds: the bound


async def _in_a_call_and_watching_the_waiting_area(
    world: World, sockets: Sockets
) -> tuple[Call, Socket]:
    """Dr Chris Lee in a call at Harbour GP, with its waiting area open in another tab."""
    call = await start_call(sockets, world.harbour, world.clinician)
    waiting = await sockets.user(world.clinician, waiting_path(world.harbour.pk))
    await waiting.open()
    return call, waiting


async def test_a_clinician_removed_from_the_clinic_loses_the_call_and_the_waiting_area(
    world: World, sockets: Sockets
) -> None:
    call, waiting = await _in_a_call_and_watching_the_waiting_area(world, sockets)

    def remove() -> None:
        membership_remove(
            actor=world.clinic_admin, membership=world.membership(world.clinician, world.harbour)
        )

    await db(remove)()
    assert await call.clinician.until_closed(CLOSED_WITHIN) == (4403, "your access has changed")
    assert await waiting.until_closed(CLOSED_WITHIN) == (4403, "your access has changed")
    # The patient's call goes on.
    await call.patient.send({"type": "ping"})
    assert await call.patient.until("pong") == {"type": "pong"}


async def test_a_deactivated_account_loses_every_socket_it_has_open(
    world: World, sockets: Sockets
) -> None:
    call, waiting = await _in_a_call_and_watching_the_waiting_area(world, sockets)

    def deactivate() -> None:
        world.clinician.is_active = False
        world.clinician.save(update_fields=["is_active"])

    await db(deactivate)()
    assert await call.clinician.until_closed(CLOSED_WITHIN) == (4403, "your access has changed")
    assert await waiting.until_closed(CLOSED_WITHIN) == (4403, "your access has changed")


async def test_a_role_change_that_keeps_access_closes_nothing(
    world: World, sockets: Sockets
) -> None:
    call, waiting = await _in_a_call_and_watching_the_waiting_area(world, sockets)

    def promote() -> None:
        membership_change_role(
            actor=world.clinic_admin,
            membership=world.membership(world.clinician, world.harbour),
            role=Role.CLINIC_ADMIN,
        )

    await db(promote)()
    await asyncio.sleep(0.3)  # the re-check has run by now
    assert await call.clinician.silent() and await waiting.silent()
    await call.clinician.send({"type": "ping"})
    assert await call.clinician.expect("pong") == {"type": "pong"}


async def test_removing_someone_else_leaves_a_members_sockets_alone(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)

    def remove_other() -> None:
        membership_remove(
            actor=world.org_admin,
            membership=world.membership(world.other_clinician, world.northside),
        )

    await db(remove_other)()
    await asyncio.sleep(0.3)
    assert await call.clinician.silent()
