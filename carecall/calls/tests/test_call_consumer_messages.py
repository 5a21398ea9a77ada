"""Every call message type, sent by each kind of participant, and what everyone else receives.

Inbound: ping, signal, media, hold, resume, end, leave, invite_guest. Outbound: every message the
server sends here is checked against its declared schema by `Socket.receive`.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from carecall.calls import services
from carecall.calls.models import Participant, ParticipantKind, Visit, VisitStatus
from carecall.calls.presence import heartbeats
from carecall.calls.tests.ws import (
    Call,
    Socket,
    Sockets,
    claim_guest,
    db,
    enter,
    fresh_visit,
    guest_path,
    join,
    participant,
    patient_id,
    patient_path,
    session_cookie,
    staff_path,
    start_call,
)
from carecall.core.errors import ServiceError
from testsupport.statements import StatementCounter
from testsupport.world import World

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

KINDS = ["patient", "clinician", "guest"]
NOT_CLINICIANS = ["patient", "guest"]
CLINIC_MEMBERS = ["org_admin", "clinic_admin", "clinician"]
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}


async def call_with_guest(world: World, sockets: Sockets, persona: str = "clinician") -> Call:
    user = world.persona(persona)
    assert user is not None
    return await start_call(sockets, world.harbour, user, with_guest=True)


async def all_silent(*sockets: Socket) -> bool:
    """None of these sockets receives anything more (all watched at the same time)."""
    return all(await asyncio.gather(*(s.silent() for s in sockets)))


def visit_row(visit: Visit) -> Visit:
    return Visit.objects.get(pk=visit.pk)


def guests_of(visit: Visit) -> int:
    return Participant.objects.filter(visit=visit, kind=ParticipantKind.GUEST).count()


# ---------------------------------------------------------------- ping


@pytest.mark.parametrize("kind", KINDS)
async def test_ping_is_answered_with_pong_to_the_sender_only(
    world: World, sockets: Sockets, kind: str
) -> None:
    call = await call_with_guest(world, sockets)
    await call.socket(kind).send({"type": "ping"})
    assert await call.socket(kind).expect("pong") == {"type": "pong"}
    assert await all_silent(*call.everyone())


async def test_a_waiting_patients_pings_are_written_in_batches_at_most_every_30_seconds(
    world: World, sockets: Sockets
) -> None:
    """The heartbeat: the waiting patient's page pings over ws/visits/<token>/ (call.js, every
    25 s). A ping is only remembered; presence.heartbeats writes everyone seen in one UPDATE
    (every FLUSH_EVERY), which stamps last_seen_at unless it was stamped within SEEN_EVERY."""
    visit, token = await db(enter)(world.harbour)
    pid = await db(patient_id)(visit)
    patient = sockets.new(patient_path(token))
    await patient.open()
    connected_at = (await db(participant)(pid)).last_seen_at
    assert connected_at is not None  # stamped by the connect

    def seen_ago(seconds: int) -> datetime:
        stamp = timezone.now() - timedelta(seconds=seconds)
        Participant.objects.filter(pk=pid).update(last_seen_at=stamp)
        return stamp

    old = await db(seen_ago)(60)
    await patient.send({"type": "ping"})
    await patient.expect("pong")
    assert (await db(participant)(pid)).last_seen_at == old  # remembered, not written yet
    assert heartbeats.pending() == {pid}
    assert await heartbeats.flush() == 1
    stamped = (await db(participant)(pid)).last_seen_at
    assert stamped is not None and stamped > old and stamped >= connected_at

    await patient.send({"type": "ping"})  # within 30 s of the last stamp: nothing written
    await patient.expect("pong")
    assert await heartbeats.flush() == 0
    assert (await db(participant)(pid)).last_seen_at == stamped

    recent = await db(seen_ago)(20)
    await patient.send({"type": "ping"})
    await patient.expect("pong")
    assert await heartbeats.flush() == 0
    assert (await db(participant)(pid)).last_seen_at == recent


async def test_a_flush_stamps_every_participant_seen_since_the_last_one(
    world: World, sockets: Sockets
) -> None:
    call = await call_with_guest(world, sockets)
    for kind in ("clinician", "patient", "guest"):
        await call.socket(kind).send({"type": "ping"})
        await call.socket(kind).expect("pong")
    ids = heartbeats.pending()
    assert len(ids) == 3

    def stale_all() -> None:
        Participant.objects.filter(pk__in=ids).update(
            last_seen_at=timezone.now() - timedelta(minutes=1)
        )

    await db(stale_all)()
    assert await heartbeats.flush() == 3  # one statement: test_limits_and_abandoned
    assert heartbeats.pending() == set()


# ---------------------------------------------------------------- signal


@pytest.mark.parametrize(
    ("sender", "target"),
    [
        ("clinician", "patient"),
        ("patient", "clinician"),
        ("guest", "patient"),
        ("patient", "guest"),
        ("clinician", "guest"),
        ("guest", "clinician"),
    ],
)
async def test_a_signal_reaches_only_its_target_marked_with_its_sender(
    world: World, sockets: Sockets, sender: str, target: str
) -> None:
    call = await call_with_guest(world, sockets)
    await call.socket(sender).send({"type": "signal", "to": call.id(target), "description": OFFER})
    assert await call.socket(target).expect("signal") == {
        "type": "signal",
        "from": call.id(sender),
        "description": OFFER,
    }
    assert await all_silent(*call.everyone())


async def test_an_ice_candidate_is_relayed_without_its_empty_fields(
    world: World, sockets: Sockets
) -> None:
    call = await call_with_guest(world, sockets)
    candidate = {
        "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": None,
    }
    await call.patient.send({"type": "signal", "to": call.clinician_id, "candidate": candidate})
    assert await call.clinician.expect("signal") == {
        "type": "signal",
        "from": call.patient_id,
        "candidate": {
            "candidate": candidate["candidate"],
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        },
    }


async def test_relaying_signals_and_answering_pings_runs_no_sql(
    world: World, sockets: Sockets, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hot path of a busy hour: who may signal whom is known from the call's events
    (roster.py) and pings are written in batches, so 40 signals and 10 pings cost no query."""
    call = await call_with_guest(world, sockets)
    counter = StatementCounter(monkeypatch)
    for _ in range(20):
        await call.clinician.send({"type": "signal", "to": call.patient_id, "description": OFFER})
        await call.patient.send({"type": "signal", "to": call.clinician_id, "description": OFFER})
        assert (await call.patient.expect("signal"))["from"] == call.clinician_id
        assert (await call.clinician.expect("signal"))["from"] == call.patient_id
    for _ in range(5):
        for socket in (call.clinician, call.patient):
            await socket.send({"type": "ping"})
            await socket.expect("pong")
    assert counter.sql == []


NOT_IN_CALL = {
    "type": "error",
    "code": "not_in_call",
    "message": "That person is not in this call with you.",
}


async def test_nobody_can_signal_the_patient_while_the_call_is_on_hold(
    world: World, sockets: Sockets
) -> None:
    call = await call_with_guest(world, sockets)
    await call.clinician.send({"type": "hold"})
    for socket in call.everyone():
        assert (await socket.expect("visit_status"))["status"] == "on_hold"

    await call.clinician.send({"type": "signal", "to": call.patient_id, "description": OFFER})
    assert await call.clinician.receive() == NOT_IN_CALL
    await call.patient.send({"type": "signal", "to": call.clinician_id, "description": OFFER})
    assert await call.patient.receive() == NOT_IN_CALL
    # The clinician and the guest may still talk while the patient is held.
    await call.clinician.send({"type": "signal", "to": call.guest_id, "description": OFFER})
    assert (await call.socket("guest").expect("signal"))["from"] == call.clinician_id
    assert await all_silent(*call.everyone())


async def test_a_waiting_patient_cannot_signal_a_clinician_who_left(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    await call.clinician.send({"type": "leave"})
    assert await call.clinician.closed() == (1000, "left the call")
    assert (await call.patient.until("visit_status"))["status"] == "waiting"

    await call.patient.send({"type": "signal", "to": call.clinician_id, "description": OFFER})
    assert await call.patient.receive() == NOT_IN_CALL


async def test_a_signal_to_yourself_is_refused(world: World, sockets: Sockets) -> None:
    call = await call_with_guest(world, sockets)
    await call.clinician.send({"type": "signal", "to": call.clinician_id, "description": OFFER})
    assert await call.clinician.receive() == NOT_IN_CALL
    assert await all_silent(*call.everyone())


async def test_a_signal_cannot_reach_someone_in_another_call(
    world: World, sockets: Sockets
) -> None:
    mine = await start_call(sockets, world.harbour, world.clinician)
    theirs = await start_call(sockets, world.harbour, world.clinic_admin)

    await mine.clinician.send({"type": "signal", "to": theirs.patient_id, "description": OFFER})
    assert await mine.clinician.receive() == NOT_IN_CALL
    await mine.clinician.send({"type": "signal", "to": str(uuid.uuid4()), "description": OFFER})
    assert await mine.clinician.receive() == NOT_IN_CALL
    assert await all_silent(*mine.everyone(), *theirs.everyone())


async def test_a_signal_cannot_reach_a_guest_who_left(world: World, sockets: Sockets) -> None:
    call = await call_with_guest(world, sockets)
    await call.socket("guest").send({"type": "leave"})
    assert await call.socket("guest").closed() == (1000, "left the call")
    await call.clinician.expect("participant_left")

    await call.clinician.send({"type": "signal", "to": call.guest_id, "description": OFFER})
    assert await call.clinician.receive() == NOT_IN_CALL


# ---------------------------------------------------------------- media


@pytest.mark.parametrize("kind", KINDS)
async def test_a_media_change_is_announced_to_everyone_else(
    world: World, sockets: Sockets, kind: str
) -> None:
    call = await call_with_guest(world, sockets)
    await call.socket(kind).send({"type": "media", "audio": False, "video": True})

    for other in call.others(kind):
        assert await other.expect("participant_media") == {
            "type": "participant_media",
            "id": call.id(kind),
            "audio": False,
            "video": True,
        }
    assert await all_silent(*call.everyone())
    row = await db(participant)(call.id(kind))
    assert (row.audio_on, row.video_on) == (False, True)


# ---------------------------------------------------------------- hold and resume


@pytest.mark.parametrize("persona", CLINIC_MEMBERS)
async def test_a_clinician_puts_the_call_on_hold_for_everyone(
    world: World, sockets: Sockets, persona: str
) -> None:
    call = await call_with_guest(world, sockets, persona)
    await call.clinician.send({"type": "hold"})

    for socket in call.everyone():
        assert await socket.expect("visit_status") == {
            "type": "visit_status",
            "status": "on_hold",
            "participants": [],
        }
    assert (await db(fresh_visit)(call.visit)).status == VisitStatus.ON_HOLD


@pytest.mark.parametrize("persona", CLINIC_MEMBERS)
async def test_a_clinician_resumes_a_held_call_and_everyone_learns_who_is_in_it(
    world: World, sockets: Sockets, persona: str
) -> None:
    call = await call_with_guest(world, sockets, persona)
    await call.clinician.send({"type": "hold"})
    for socket in call.everyone():
        await socket.expect("visit_status")

    await call.clinician.send({"type": "resume"})

    for socket in call.everyone():
        message = await socket.expect("visit_status")
        assert message["status"] == "in_call"
        assert {(p["id"], p["kind"]) for p in message["participants"]} == {
            (call.patient_id, "patient"),
            (call.clinician_id, "clinician"),
            (call.guest_id, "guest"),
        }
        assert all(p["connected"] for p in message["participants"])
    assert (await db(fresh_visit)(call.visit)).status == VisitStatus.IN_CALL


async def test_resuming_a_call_that_is_not_on_hold_is_refused_with_an_error(
    world: World, sockets: Sockets
) -> None:
    call = await call_with_guest(world, sockets)
    await call.clinician.send({"type": "resume"})
    assert await call.clinician.receive() == {
        "type": "error",
        "code": "refused",
        "message": "This visit cannot go from Being seen to Being seen.",
    }
    assert await all_silent(*call.everyone())


async def test_holding_a_call_that_is_on_hold_is_refused_with_an_error(
    world: World, sockets: Sockets
) -> None:
    call = await call_with_guest(world, sockets)
    await call.clinician.send({"type": "hold"})
    for socket in call.everyone():
        await socket.expect("visit_status")
    await call.clinician.send({"type": "hold"})
    assert await call.clinician.receive() == {
        "type": "error",
        "code": "refused",
        "message": "This visit cannot go from On hold to On hold.",
    }
    assert await all_silent(*call.everyone())


# ---------------------------------------------------------------- clinician-only actions


@pytest.mark.parametrize("kind", NOT_CLINICIANS)
@pytest.mark.parametrize("action", ["hold", "resume", "end", "invite_guest"])
async def test_only_clinicians_may_hold_resume_end_or_invite(
    world: World, sockets: Sockets, kind: str, action: str
) -> None:
    call = await call_with_guest(world, sockets)
    if action == "resume":  # give resume something to resume
        await call.clinician.send({"type": "hold"})
        for socket in call.everyone():
            await socket.expect("visit_status")
    before = await db(fresh_visit)(call.visit)

    await call.socket(kind).send({"type": action})

    assert await call.socket(kind).closed() == (4403, f"only clinicians may {action}")
    after = await db(fresh_visit)(call.visit)
    assert (after.status, after.ended_at) == (before.status, None)
    assert await db(guests_of)(call.visit) == 1
    assert await all_silent(*call.others(kind))


async def test_patient_cannot_put_the_call_on_hold(world: World, sockets: Sockets) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    await call.patient.send({"type": "hold"})
    assert await call.patient.closed() == (4403, "only clinicians may hold")
    assert (await db(fresh_visit)(call.visit)).status == VisitStatus.IN_CALL
    await call.patient.close()
    # The clinician sees the patient's connection drop, not a hold.
    assert await call.clinician.receive() == {
        "type": "participant_connection",
        "id": call.patient_id,
        "connected": False,
    }


# ---------------------------------------------------------------- end


@pytest.mark.parametrize("persona", CLINIC_MEMBERS)
async def test_a_clinician_ends_the_call_for_everyone(
    world: World, sockets: Sockets, persona: str
) -> None:
    call = await call_with_guest(world, sockets, persona)
    await call.clinician.send({"type": "end"})

    for socket in call.everyone():
        assert await socket.expect("ended") == {
            "type": "ended",
            "by": call.clinician_user.get_full_name(),
        }
        assert await socket.closed() == (4409, "this call has ended")
    visit = await db(fresh_visit)(call.visit)
    assert visit.status == VisitStatus.DONE
    assert visit.ended_by_id == call.clinician_user.pk
    for kind in KINDS:
        assert (await db(participant)(call.id(kind))).left_at is not None


# ---------------------------------------------------------------- leave


async def test_the_patient_leaving_steps_out_and_the_call_stays_open_for_the_others(
    world: World, sockets: Sockets
) -> None:
    call = await call_with_guest(world, sockets)
    await call.patient.send({"type": "leave"})

    assert await call.patient.closed() == (1000, "left the call")
    for other in call.others("patient"):
        assert await other.receive() == {"type": "participant_left", "id": call.patient_id}
    assert (await db(fresh_visit)(call.visit)).status == VisitStatus.IN_CALL
    for other in call.others("patient"):
        assert await other.pending() == []


async def test_a_patient_who_stepped_out_rejoins_and_the_others_hear_it(
    world: World, sockets: Sockets
) -> None:
    call = await call_with_guest(world, sockets)
    await call.patient.send({"type": "leave"})
    assert await call.patient.closed() == (1000, "left the call")
    await call.clinician.until("participant_left")

    back = sockets.new(patient_path(call.token))
    welcome = await back.open()
    assert welcome["visit"]["status"] == "in_call"
    assert {p["kind"] for p in welcome["participants"]} == {"clinician", "guest"}
    joined = await call.clinician.until("participant_joined")
    assert joined["participant"]["id"] == call.patient_id


async def test_a_guest_leaving_is_announced_and_the_call_goes_on(
    world: World, sockets: Sockets
) -> None:
    call = await call_with_guest(world, sockets)
    await call.socket("guest").send({"type": "leave"})

    assert await call.socket("guest").closed() == (1000, "left the call")
    for other in call.others("guest"):
        assert await other.receive() == {"type": "participant_left", "id": call.guest_id}
    assert await all_silent(call.patient, call.clinician)
    assert (await db(fresh_visit)(call.visit)).status == VisitStatus.IN_CALL


async def test_the_last_clinician_leaving_sends_the_patient_back_to_waiting(
    world: World, sockets: Sockets
) -> None:
    call = await call_with_guest(world, sockets)
    await call.clinician.send({"type": "leave"})

    assert await call.clinician.closed() == (1000, "left the call")
    for other in call.others("clinician"):
        assert await other.receive() == {"type": "participant_left", "id": call.clinician_id}
        assert await other.receive() == {
            "type": "visit_status",
            "status": "waiting",
            "participants": [],
        }
    assert (await db(fresh_visit)(call.visit)).status == VisitStatus.WAITING


async def test_a_clinician_leaving_while_a_colleague_stays_keeps_the_call_going(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    colleague_id = await db(join)(world.clinic_admin, call.visit)
    colleague = await sockets.user(world.clinic_admin, staff_path(call.visit.pk))
    await colleague.open()
    for socket in (call.patient, call.clinician):
        assert (await socket.expect("participant_joined"))["participant"]["id"] == colleague_id
        assert (await socket.expect("participant_connection"))["id"] == colleague_id

    await call.clinician.send({"type": "leave"})

    assert await call.clinician.closed() == (1000, "left the call")
    for other in (call.patient, colleague):
        assert await other.receive() == {"type": "participant_left", "id": call.clinician_id}
    assert await all_silent(call.patient, colleague)
    assert (await db(fresh_visit)(call.visit)).status == VisitStatus.IN_CALL


# ---------------------------------------------------------------- invite_guest


@pytest.mark.parametrize("persona", CLINIC_MEMBERS)
async def test_a_clinician_invites_a_guest_and_only_they_get_the_working_link(
    world: World, sockets: Sockets, persona: str
) -> None:
    user = world.persona(persona)
    assert user is not None
    call = await start_call(sockets, world.harbour, user)
    await call.clinician.send({"type": "invite_guest"})

    invite = await call.clinician.expect("guest_invite")
    assert invite["url"].startswith("http://testserver/j/")
    assert await all_silent(call.patient, call.clinician)

    token = invite["url"].rstrip("/").rsplit("/", 1)[-1]
    claimed = await db(claim_guest)(token, "Ivan Interpreter")
    for socket in (call.patient, call.clinician):
        joined = await socket.expect("participant_joined")
        assert joined["participant"] == {
            "id": claimed.id,
            "name": "Ivan Interpreter",
            "kind": "guest",
            "audio": True,
            "video": True,
            "connected": False,
            "joining": True,
        }
    guest = sockets.new(guest_path(token), cookie=claimed.cookie)
    assert (await guest.open())["you"]["id"] == claimed.id


async def test_a_guest_link_is_built_on_the_origin_of_the_clinicians_page(
    world: World, sockets: Sockets
) -> None:
    visit, _token = await db(enter)(world.harbour)
    await db(join)(world.clinician, visit)
    cookie = await db(session_cookie)(world.clinician)
    staff = sockets.new(staff_path(visit.pk), cookie=cookie, origin=b"http://localhost:8000")
    await staff.open()
    await staff.send({"type": "invite_guest"})
    assert (await staff.expect("guest_invite"))["url"].startswith("http://localhost:8000/j/")


async def test_a_visit_abandoned_by_its_patient_closes_the_clinicians_socket(
    world: World, sockets: Sockets
) -> None:
    """The patient is gone for good (abandoned): the visit is over, the clinician's page hears
    it and its socket closes like after an End call, so no control of the call is left."""
    call = await start_call(sockets, world.harbour, world.clinician)
    await db(services.visit_abandon)(visit=await db(visit_row)(call.visit))
    assert (await call.clinician.until("visit_status"))["status"] == "done"
    assert await call.clinician.closed() == (4409, "this call has ended")


async def test_inviting_a_guest_to_a_visit_that_ended_is_refused(world: World) -> None:
    def scenario() -> int:
        visit, _token = enter(world.harbour)
        join(world.clinician, visit)
        services.visit_abandon(visit=visit)
        with pytest.raises(ServiceError, match=r"This visit has ended\."):
            services.guest_invite_create(
                actor=world.clinician, visit=visit_row(visit), base_url="http://testserver"
            )
        return guests_of(visit)

    assert await db(scenario)() == 0


# ---------------------------------------------------------------- events from elsewhere


async def test_the_waiting_patient_hears_a_clinician_join_and_the_call_start(
    world: World, sockets: Sockets
) -> None:
    visit, token = await db(enter)(world.harbour)
    patient = sockets.new(patient_path(token))
    await patient.open()
    pid = await db(patient_id)(visit)

    clinician_id = await db(join)(world.clinician, visit)

    chris = {
        "id": clinician_id,
        "name": "Chris Lee",
        "kind": "clinician",
        "audio": True,
        "video": True,
        "connected": False,
        # Their page is still opening: "Joining…", not a lost connection.
        "joining": True,
    }
    assert await patient.receive() == {"type": "participant_joined", "participant": chris}
    status = await patient.receive()
    assert status["type"] == "visit_status"
    assert status["status"] == "in_call"
    assert {p["id"] for p in status["participants"]} == {pid, clinician_id}
    assert [p["joining"] for p in status["participants"] if p["id"] == clinician_id] == [True]


async def test_a_joining_clinician_is_not_lost_until_their_page_connects_and_drops(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    # Connected: neither joining nor lost.
    seen = {p["id"]: p for p in call.welcomes["patient"]["participants"]}
    assert call.clinician_id not in seen  # the patient was waiting when it connected
    again = sockets.new(patient_path(call.token))
    welcome = await again.open()
    (chris,) = welcome["participants"]
    assert (chris["connected"], chris["joining"]) == (True, False)
    await again.close()

    # Their socket really closes: now (and only now) they are lost, not joining.
    await call.clinician.close()
    assert await call.patient.until("participant_connection") == {
        "type": "participant_connection",
        "id": call.clinician_id,
        "connected": False,
    }
    third = sockets.new(patient_path(call.token))
    (chris,) = (await third.open())["participants"]
    assert (chris["connected"], chris["joining"]) == (False, False)
    await third.close()

    # They leave and Join again from the waiting area: joining again until the new page connects.
    await db(services.participant_leave)(participant=await db(participant)(call.clinician_id))
    await db(join)(world.clinician, call.visit)
    joined = await call.patient.until("participant_joined")
    assert (joined["participant"]["connected"], joined["participant"]["joining"]) == (False, True)
    status = await call.patient.until("visit_status")
    (chris,) = [p for p in status["participants"] if p["id"] == call.clinician_id]
    assert chris["joining"] is True


async def test_everyone_hears_when_the_patient_drops_and_comes_back(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    await call.patient.close()
    assert await call.clinician.receive() == {
        "type": "participant_connection",
        "id": call.patient_id,
        "connected": False,
    }
    assert (await db(participant)(call.patient_id)).connections == 0

    back = sockets.new(patient_path(call.token))
    welcome = await back.open()
    assert welcome["visit"]["status"] == "in_call"
    assert [p["id"] for p in welcome["participants"]] == [call.clinician_id]
    assert await call.clinician.receive() == {
        "type": "participant_connection",
        "id": call.patient_id,
        "connected": True,
    }


async def test_a_second_tab_of_the_same_person_is_not_announced_twice(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    second = await sockets.user(world.clinician, staff_path(call.visit.pk))
    await second.open()
    assert await call.patient.silent()
    assert (await db(participant)(call.clinician_id)).connections == 2

    await second.close()
    assert await call.patient.silent()
    assert (await db(participant)(call.clinician_id)).connections == 1

    await call.clinician.close()
    assert await call.patient.receive() == {
        "type": "participant_connection",
        "id": call.clinician_id,
        "connected": False,
    }


async def test_a_signal_goes_to_every_open_tab_of_its_target(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    second = await sockets.user(world.clinician, staff_path(call.visit.pk))
    await second.open()
    await call.patient.send({"type": "signal", "to": call.clinician_id, "description": OFFER})
    for tab in (call.clinician, second):
        assert (await tab.expect("signal"))["from"] == call.patient_id
