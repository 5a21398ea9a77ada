"""A socket's connect is the hot path of a restart (every page reconnects at once): it costs
two statements (the count, which checks the link's access, and the welcome), plus the
session's own two for someone signed in (Django's: the session row, the user)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from carecall.calls.models import Participant
from carecall.calls.tests.ws import (
    Sockets,
    claim_guest,
    db,
    guest_path,
    invite_guest,
    participant,
    patient_path,
    session_cookie,
    staff_path,
    start_call,
    waiting_path,
)
from testsupport.statements import StatementCounter
from testsupport.world import World

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _tables(sql: list[str]) -> list[str]:
    """Each statement as its verb and its table (the UPDATE's, or the outermost FROM's)."""
    out = []
    for text in sql:
        words = text.replace('"', "").replace("(", " ( ").replace(")", " ) ").split()
        verb, target, depth = words[0].upper(), "?", 0
        for i, word in enumerate(words[:-1]):
            depth += (word == "(") - (word == ")")
            if depth == 0 and word.upper() in ("UPDATE", "FROM"):
                target = words[i + 1]
                break
        out.append(f"{verb} {target}")
    return out


async def test_a_patient_socket_connects_with_two_statements(
    world: World, sockets: Sockets, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    counter = StatementCounter(monkeypatch)
    second_tab = sockets.new(patient_path(call.token))
    welcome = await second_tab.open()
    assert welcome["type"] == "welcome" and welcome["you"]["id"] == call.patient_id
    assert [p["id"] for p in welcome["participants"]] == [call.clinician_id]
    assert _tables(counter.sql) == ["UPDATE calls_participant", "SELECT calls_participant"]
    assert (await db(participant)(call.patient_id)).connections == 2


async def test_a_clinician_socket_connects_with_the_session_and_two_statements(
    world: World, sockets: Sockets, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    cookie = await db(session_cookie)(world.clinician)
    counter = StatementCounter(monkeypatch)
    welcome = await sockets.new(staff_path(call.visit.pk), cookie=cookie).open()
    assert welcome["you"]["id"] == call.clinician_id
    assert _tables(counter.sql) == [
        "SELECT django_session",
        "SELECT accounts_user",
        "UPDATE calls_participant",
        "SELECT calls_participant",
    ]


async def test_a_guest_socket_connects_with_the_session_and_two_statements(
    world: World, sockets: Sockets, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    _gid, token = await db(invite_guest)(world.clinician, call.visit)
    guest = await db(claim_guest)(token)
    counter = StatementCounter(monkeypatch)
    welcome = await sockets.new(guest_path(token), cookie=guest.cookie).open()
    assert welcome["you"]["id"] == guest.id
    assert _tables(counter.sql) == [
        "SELECT django_session",
        "UPDATE calls_participant",
        "SELECT calls_participant",
    ]


async def test_a_waiting_area_socket_reads_its_access_and_snapshot_once(
    world: World, sockets: Sockets, monkeypatch: pytest.MonkeyPatch
) -> None:
    await start_call(sockets, world.harbour, world.clinician)
    cookie = await db(session_cookie)(world.clinician)
    counter = StatementCounter(monkeypatch)
    snapshot = await sockets.new(waiting_path(world.harbour.pk), cookie=cookie).open()
    assert snapshot["type"] == "waiting_snapshot" and len(snapshot["visits"]) == 1
    # The session and user, the clinic and the memberships (orgs.access), the visits and
    # their participants: each once (it was read twice, in three thread hops).
    assert len(counter.sql) == 6, _tables(counter.sql)


@pytest.mark.parametrize("stale", [False, True])
async def test_a_patient_back_from_no_count_or_a_stale_one_is_announced_from_the_welcome_read(
    world: World, sockets: Sockets, monkeypatch: pytest.MonkeyPatch, stale: bool
) -> None:
    """A count at 0 (or one left above 0 by a crashed process, not seen for minutes) going up
    tells the call and the waiting area the patient is back; a second tab tells nobody."""
    call = await start_call(sockets, world.harbour, world.clinician)
    waiting = await sockets.user(world.clinician, waiting_path(world.harbour.pk))
    await waiting.open()
    await call.patient.close()
    assert (await call.clinician.expect("participant_connection"))["connected"] is False
    assert (await waiting.expect("visit_changed"))["visit"]["connected"] is False

    def leave_a_count(pid: str) -> None:
        long_ago = timezone.now() - timedelta(minutes=10)
        Participant.objects.filter(pk=pid).update(connections=1, last_seen_at=long_ago)

    if stale:
        await db(leave_a_count)(call.patient_id)
    counter = StatementCounter(monkeypatch)
    back = sockets.new(patient_path(call.token))
    assert (await back.open())["you"]["connected"] is True
    assert len(counter.sql) == 2, _tables(counter.sql)  # no read of its own for the news
    assert await call.clinician.expect("participant_connection") == {
        "type": "participant_connection",
        "id": call.patient_id,
        "connected": True,
    }
    assert (await waiting.expect("visit_changed"))["visit"]["connected"] is True
    assert (await db(participant)(call.patient_id)).connections == (2 if stale else 1)

    await sockets.new(patient_path(call.token)).open()  # a second tab: nothing to announce
    assert await call.clinician.pending() == []
    assert await waiting.pending() == []
