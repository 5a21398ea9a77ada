"""A clinic's live waiting area: for that clinic's members only, and kept up to date as callers
enter, connect, are joined, are held and leave."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from carecall.calls import services
from carecall.calls.models import Participant, ParticipantKind
from carecall.calls.selectors import STALE_AFTER
from carecall.calls.tests.ws import (
    Socket,
    Sockets,
    db,
    enter,
    join,
    patient_path,
    start_call,
    waiting_path,
)
from testsupport.world import World

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def waiting_area(sockets: Sockets, world: World, persona: str = "clinician") -> Socket:
    """A clinic member's waiting-area page for Harbour GP, connected; its snapshot read."""
    socket = await sockets.user(world.persona(persona), waiting_path(world.harbour.pk))
    snapshot = await socket.open()
    assert snapshot["type"] == "waiting_snapshot"
    return socket


# ---------------------------------------------------------------- who may watch


@pytest.mark.parametrize("persona", ["org_admin", "clinic_admin", "clinician"])
async def test_a_member_of_the_clinic_gets_the_waiting_area_snapshot(
    world: World, sockets: Sockets, persona: str
) -> None:
    visit, _token = await db(enter)(world.harbour, "Ada", "Lovelace")
    socket = await sockets.user(world.persona(persona), waiting_path(world.harbour.pk))

    snapshot = await socket.open()

    assert snapshot["type"] == "waiting_snapshot"
    assert snapshot["visits"] == [
        {
            "id": str(visit.pk),
            "name": "Ada Lovelace",
            "status": "waiting",
            "status_label": "Waiting",
            "entered_at": visit.entered_at.isoformat(),
            "status_changed_at": visit.status_changed_at.isoformat(),
            "with_names": [],
            "connected": False,
            "join_url": f"/clinics/{world.harbour.pk}/visits/{visit.pk}/join/",
            "left": False,
        }
    ]


@pytest.mark.parametrize(
    ("persona", "code", "reason"),
    [
        ("other_clinician", 4403, "not a member of this clinic"),
        ("outsider", 4404, "no such clinic"),
        ("operator", 4404, "no such clinic"),
        ("anonymous", 4403, "sign in first"),
    ],
)
async def test_someone_outside_the_clinic_cannot_see_its_waiting_area(
    world: World, sockets: Sockets, persona: str, code: int, reason: str
) -> None:
    await db(enter)(world.harbour)
    socket = await sockets.user(world.persona(persona), waiting_path(world.harbour.pk))
    assert await socket.refused() == (code, reason)


async def test_an_unknown_clinic_is_refused_as_unknown(world: World, sockets: Sockets) -> None:
    socket = await sockets.user(world.org_admin, waiting_path(999_999))
    assert await socket.refused() == (4404, "no such clinic")


async def test_a_refused_watcher_hears_nothing_of_the_clinics_callers(
    world: World, sockets: Sockets
) -> None:
    socket = await sockets.user(world.other_clinician, waiting_path(world.harbour.pk))
    await socket.refused()
    await db(enter)(world.harbour)
    assert await socket.silent()


async def test_the_snapshot_lists_only_this_clinics_callers_who_are_still_here_oldest_first(
    world: World, sockets: Sockets
) -> None:
    await db(enter)(world.harbour, "First", "Caller")
    second, _ = await db(enter)(world.harbour, "Second", "Caller")
    gone, _gone_token = await db(enter)(world.harbour, "Gone", "Caller")
    await db(enter)(world.northside, "Other", "Clinic")
    await db(join)(world.clinician, second)
    await db(services.visit_abandon)(visit=gone)

    socket = await sockets.user(world.clinician, waiting_path(world.harbour.pk))
    snapshot = await socket.open()

    assert [(v["name"], v["status"], v["with_names"]) for v in snapshot["visits"]] == [
        ("First Caller", "waiting", []),
        ("Second Caller", "in_call", ["Chris Lee"]),
    ]


async def test_the_waiting_area_answers_ping_and_refuses_call_messages(
    world: World, sockets: Sockets
) -> None:
    socket = await waiting_area(sockets, world)
    await socket.send({"type": "ping"})
    assert await socket.expect("pong") == {"type": "pong"}
    await socket.send({"type": "hold"})
    assert await socket.closed() == (4400, "unknown message type 'hold'")


# ---------------------------------------------------------------- live updates


async def test_a_patient_stuck_connected_by_a_crashed_process_shows_lost_then_back(
    world: World, sockets: Sockets
) -> None:
    """Their count stayed at 1 when a process crashed: not seen for STALE_AFTER, the dashboard
    shows them as lost; when their page connects again (1 -> 2) it hears they are back."""
    visit, token = await db(enter)(world.harbour)

    def crashed_long_ago() -> None:
        Participant.objects.filter(visit=visit, kind=ParticipantKind.PATIENT).update(
            connections=1,
            connected_at=timezone.now() - timedelta(minutes=10),
            last_seen_at=timezone.now() - STALE_AFTER - timedelta(seconds=1),
        )

    await db(crashed_long_ago)()
    watcher = await sockets.user(world.clinician, waiting_path(world.harbour.pk))
    snapshot = await watcher.open()
    assert [(v["id"], v["connected"]) for v in snapshot["visits"]] == [(str(visit.pk), False)]

    patient = sockets.new(patient_path(token))
    await patient.open()
    back = await watcher.expect("visit_changed")
    assert (back["visit"]["id"], back["visit"]["connected"]) == (str(visit.pk), True)


async def test_a_caller_who_enters_appears_live_and_is_removed_when_they_leave(
    world: World, sockets: Sockets
) -> None:
    watcher = await waiting_area(sockets, world)

    visit, token = await db(enter)(world.harbour, "Ada", "Lovelace")
    entered = await watcher.expect("visit_changed")
    assert entered["visit"]["id"] == str(visit.pk)
    assert entered["visit"]["name"] == "Ada Lovelace"
    assert (entered["visit"]["status"], entered["visit"]["connected"]) == ("waiting", False)

    patient = sockets.new(patient_path(token))
    await patient.open()
    connected = await watcher.expect("visit_changed")
    assert (connected["visit"]["status"], connected["visit"]["connected"]) == ("waiting", True)

    # Leave steps out: the row stays (they may come back with their link), marked as left.
    await patient.send({"type": "leave"})
    left = await watcher.expect("visit_changed")
    assert (left["visit"]["id"], left["visit"]["left"]) == (str(visit.pk), True)

    await db(services.visit_abandon)(visit=visit)
    assert await watcher.expect("visit_removed") == {"type": "visit_removed", "id": str(visit.pk)}


@pytest.mark.parametrize("persona", ["clinician", "clinic_admin"])
async def test_join_shows_the_caller_in_call_with_the_clinicians_name(
    world: World, sockets: Sockets, persona: str
) -> None:
    watcher = await waiting_area(sockets, world, "org_admin")
    visit, _token = await db(enter)(world.harbour)
    await watcher.expect("visit_changed")
    user = world.persona(persona)
    assert user is not None

    await db(join)(user, visit)

    changed = await watcher.expect("visit_changed")
    assert changed["visit"]["id"] == str(visit.pk)
    assert changed["visit"]["status"] == "in_call"
    assert changed["visit"]["status_label"] == "Being seen"
    assert changed["visit"]["with_names"] == [user.get_full_name()]
    assert await watcher.silent()


async def test_hold_resume_and_a_second_clinician_show_live(world: World, sockets: Sockets) -> None:
    watcher = await waiting_area(sockets, world)
    call = await start_call(sockets, world.harbour, world.clinician)
    assert (await watcher.until("visit_changed"))["visit"]["status"] == "waiting"
    seen = [
        (m["visit"]["status"], m["visit"]["with_names"], m["visit"]["connected"])
        for m in [await watcher.expect("visit_changed") for _ in range(2)]
    ]
    assert seen == [("waiting", [], True), ("in_call", ["Chris Lee"], True)]

    await call.clinician.send({"type": "hold"})
    held = await watcher.expect("visit_changed")
    assert (held["visit"]["status"], held["visit"]["status_label"]) == ("on_hold", "On hold")

    await call.clinician.send({"type": "resume"})
    assert (await watcher.expect("visit_changed"))["visit"]["status"] == "in_call"

    await db(join)(world.clinic_admin, call.visit)
    both = await watcher.expect("visit_changed")
    assert both["visit"]["with_names"] == ["Chris Lee", "Hannah Brooks"]


async def test_the_last_clinician_leaving_puts_the_caller_back_to_waiting(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    watcher = await waiting_area(sockets, world)
    await call.clinician.send({"type": "leave"})
    changed = await watcher.expect("visit_changed")
    assert (changed["visit"]["status"], changed["visit"]["with_names"]) == ("waiting", [])


async def test_a_patient_losing_their_connection_shows_live(world: World, sockets: Sockets) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    watcher = await waiting_area(sockets, world)
    await call.patient.close()
    changed = await watcher.expect("visit_changed")
    assert (changed["visit"]["status"], changed["visit"]["connected"]) == ("in_call", False)


async def test_ending_the_call_removes_the_caller(world: World, sockets: Sockets) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    watcher = await waiting_area(sockets, world)
    await call.clinician.send({"type": "end"})
    assert await watcher.expect("visit_removed") == {
        "type": "visit_removed",
        "id": str(call.visit.pk),
    }


async def test_another_clinics_waiting_area_hears_nothing_of_this_clinics_callers(
    world: World, sockets: Sockets
) -> None:
    northside = await sockets.user(world.other_clinician, waiting_path(world.northside.pk))
    assert (await northside.open())["visits"] == []
    harbour = await waiting_area(sockets, world)

    visit, _token = await db(enter)(world.harbour)
    await db(join)(world.clinician, visit)

    await harbour.expect("visit_changed")
    assert await northside.silent()


# ---------------------------------------------------------------- no ghost rows after the end


async def test_no_ghost_row_reappears_after_an_abandoned_patient_disconnects(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    watcher = await waiting_area(sockets, world)

    await db(services.visit_abandon)(visit=call.visit)
    assert await watcher.expect("visit_removed") == {
        "type": "visit_removed",
        "id": str(call.visit.pk),
    }
    await call.patient.close()  # the patient's browser closes the socket

    # Nothing may bring the visit back: the dashboard would show a "Done" row with a Join button.
    stray = await watcher.pending()
    assert stray == [], f"after visit_removed the waiting area still got {stray}"


async def test_no_ghost_row_reappears_after_a_clinician_ends_the_call(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    watcher = await waiting_area(sockets, world)

    await call.clinician.send({"type": "end"})
    await watcher.expect("visit_removed")
    for socket in call.everyone():
        await socket.expect("ended")
        await socket.closed()
        await socket.close()

    stray = await watcher.pending()
    assert stray == [], f"after visit_removed the waiting area still got {stray}"


# ---------------------------------------------------------------- abandoned visits


async def test_an_abandoned_visit_leaves_the_live_waiting_area(
    world: World, sockets: Sockets
) -> None:
    visit, token = await db(enter)(world.harbour, "Ada", "Lovelace")
    patient = sockets.new(patient_path(token))
    await patient.open()
    await patient.close()  # the tab is closed and never comes back
    watcher = await waiting_area(sockets, world)
    assert await watcher.silent()

    later = timezone.now() + timedelta(minutes=31)
    assert await db(services.visits_abandon)(now=later) == 1
    assert await watcher.expect("visit_removed") == {"type": "visit_removed", "id": str(visit.pk)}
    # A later page no longer lists it.
    fresh = await sockets.user(world.clinician, waiting_path(world.harbour.pk))
    assert (await fresh.open())["visits"] == []
