"""Who may open a visit's call socket: staff by session, the patient by their visit token, a guest
by the link they claimed in this browser. Every refusal is a close with a code and a reason."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from carecall.calls import services
from carecall.calls.models import VisitStatus
from carecall.calls.tests.ws import (
    Sockets,
    claim_guest,
    db,
    enter,
    fresh_visit,
    guest_path,
    invite_guest,
    join,
    participant,
    patient_id,
    patient_path,
    staff_path,
    start_call,
)
from carecall.core.errors import ServiceError
from testsupport.world import World

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

CLINIC_MEMBERS = ["org_admin", "clinic_admin", "clinician"]


# ---------------------------------------------------------------- staff, by session


@pytest.mark.parametrize("persona", CLINIC_MEMBERS)
async def test_a_member_of_the_clinic_who_joined_is_welcomed_as_a_clinician(
    world: World, sockets: Sockets, persona: str
) -> None:
    user = world.persona(persona)
    assert user is not None
    visit, _token = await db(enter)(world.harbour)
    my_id = await db(join)(user, visit)

    staff = await sockets.user(user, staff_path(visit.pk))
    welcome = await staff.open()

    assert welcome["type"] == "welcome"
    assert welcome["you"] == {
        "id": my_id,
        "name": user.get_full_name(),
        "kind": "clinician",
        "audio": True,
        "video": True,
        "connected": True,
        "joining": False,
    }
    assert welcome["visit"]["id"] == str(visit.pk)
    assert welcome["visit"]["status"] == "in_call"
    assert welcome["visit"]["clinic"] == "Harbour GP"
    # The patient is in the call (not connected yet); the clinician is not listed twice.
    assert [(p["kind"], p["name"], p["connected"]) for p in welcome["participants"]] == [
        ("patient", "Pat Smith", False)
    ]
    assert (await db(participant)(my_id)).connections == 1


@pytest.mark.parametrize(
    ("persona", "refusal", "code", "reason"),
    [
        ("other_clinician", PermissionDenied, 4403, "You are not a member of Harbour GP."),
        ("outsider", Http404, 4404, "no such call"),
        ("operator", Http404, 4404, "no such call"),
    ],
)
async def test_someone_outside_the_clinic_can_neither_join_nor_open_the_call(
    world: World,
    sockets: Sockets,
    persona: str,
    refusal: type[Exception],
    code: int,
    reason: str,
) -> None:
    user = world.persona(persona)
    assert user is not None
    visit, _token = await db(enter)(world.harbour)
    await db(join)(world.clinician, visit)  # the call is on

    with pytest.raises(refusal):
        await db(join)(user, visit)
    staff = await sockets.user(user, staff_path(visit.pk))

    assert await staff.refused() == (code, reason)
    assert (await db(fresh_visit)(visit)).status == VisitStatus.IN_CALL


async def test_a_signed_out_browser_cannot_open_a_staff_call(
    world: World, sockets: Sockets
) -> None:
    visit, _token = await db(enter)(world.harbour)
    await db(join)(world.clinician, visit)
    anonymous = await sockets.user(None, staff_path(visit.pk))
    assert await anonymous.refused() == (4403, "sign in first")


async def test_a_clinic_member_who_has_not_joined_cannot_open_the_call(
    world: World, sockets: Sockets
) -> None:
    visit, _token = await db(enter)(world.harbour)
    await db(join)(world.clinician, visit)
    admin = await sockets.user(world.clinic_admin, staff_path(visit.pk))
    assert await admin.refused() == (4403, "join the call from the waiting area first")


async def test_an_unknown_visit_is_refused_as_unknown(world: World, sockets: Sockets) -> None:
    staff = await sockets.user(world.clinician, staff_path(uuid.uuid4()))
    assert await staff.refused() == (4404, "no such call")


async def test_a_clinician_who_left_must_join_again_before_reconnecting(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    await call.clinician.send({"type": "leave"})
    assert await call.clinician.closed() == (1000, "left the call")

    again = await sockets.user(world.clinician, staff_path(call.visit.pk))
    assert await again.refused() == (4403, "join the call from the waiting area first")


# ---------------------------------------------------------------- the patient, by visit token


async def test_the_patient_token_opens_the_patients_own_visit(
    world: World, sockets: Sockets
) -> None:
    visit, token = await db(enter)(world.harbour, "Ada", "Lovelace")
    patient = sockets.new(patient_path(token))

    welcome = await patient.open()

    assert welcome["you"]["id"] == await db(patient_id)(visit)
    assert welcome["you"]["kind"] == "patient"
    assert welcome["you"]["name"] == "Ada Lovelace"
    assert welcome["visit"] == {
        "id": str(visit.pk),
        "status": "waiting",
        "clinic": "Harbour GP",
        "waiting_message": "Please wait. A clinician will join you shortly.",
        "entered_at": visit.entered_at.isoformat(),
        "admitted_at": None,
    }
    assert welcome["participants"] == []  # nobody to connect to while waiting


async def test_patient_token_of_another_visit_cannot_open_this_call(
    world: World, sockets: Sockets
) -> None:
    mine, _my_token = await db(enter)(world.harbour, "Ada", "Lovelace")
    await db(join)(world.clinician, mine)
    _theirs, their_token = await db(enter)(world.harbour, "Bob", "Other")

    other = sockets.new(patient_path(their_token))
    welcome = await other.open()

    # Their token opens their own visit, never this one, and they hear nothing from this call.
    assert welcome["visit"]["id"] != str(mine.pk)
    assert welcome["you"]["name"] == "Bob Other"
    assert welcome["participants"] == []
    clinician = await sockets.user(world.clinician, staff_path(mine.pk))
    await clinician.open()
    assert await other.silent()


async def test_a_made_up_patient_token_is_refused_as_unknown(
    world: World, sockets: Sockets
) -> None:
    await db(enter)(world.harbour)
    patient = sockets.new(patient_path("not-a-real-token"))
    assert await patient.refused() == (4404, "no such call")


async def test_a_patient_token_is_no_key_to_the_staff_or_guest_socket(
    world: World, sockets: Sockets
) -> None:
    visit, token = await db(enter)(world.harbour)
    await db(join)(world.clinician, visit)

    as_staff = sockets.new(staff_path(visit.pk))
    assert await as_staff.refused() == (4403, "sign in first")
    as_guest = sockets.new(guest_path(token))
    assert await as_guest.refused() == (4404, "no such call")


async def test_an_ended_call_cannot_be_rejoined_with_an_old_patient_token(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    await call.clinician.send({"type": "end"})
    await call.patient.expect("ended")
    assert await call.patient.closed() == (4409, "this call has ended")
    await call.patient.close()

    again = sockets.new(patient_path(call.token))
    assert await again.refused() == (4409, "this call has ended")
    with pytest.raises(ServiceError, match=r"This visit has ended\."):
        await db(join)(world.clinician, call.visit)
    staff_again = await sockets.user(world.clinician, staff_path(call.visit.pk))
    # Ending marked everyone as gone, so the clinician's old session is no key either.
    assert await staff_again.refused() == (4409, "this call has ended")


async def test_a_patient_who_left_comes_back_with_the_same_token_until_the_visit_ends(
    world: World, sockets: Sockets
) -> None:
    visit, token = await db(enter)(world.harbour)
    patient = sockets.new(patient_path(token))
    await patient.open()
    await patient.send({"type": "leave"})
    assert await patient.closed() == (1000, "left the call")
    await patient.close()
    # Leaving steps out: the visit stays open and the link still opens it.
    assert (await db(fresh_visit)(visit)).status == VisitStatus.WAITING

    again = sockets.new(patient_path(token))
    welcome = await again.open()
    assert welcome["type"] == "welcome" and welcome["visit"]["status"] == "waiting"
    await again.close()

    await db(services.visit_abandon)(visit=await db(fresh_visit)(visit))
    ended = sockets.new(patient_path(token))
    assert await ended.refused() == (4409, "this call has ended")


# ---------------------------------------------------------------- guests, by claimed link


async def test_a_guest_who_claimed_their_link_in_this_browser_is_welcomed_as_a_guest(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    guest_id, token = await db(invite_guest)(world.clinician, call.visit)
    claimed = await db(claim_guest)(token, "Gina Carer")
    assert claimed.id == guest_id

    guest = sockets.new(guest_path(token), cookie=claimed.cookie)
    welcome = await guest.open()

    assert welcome["you"]["id"] == guest_id
    assert welcome["you"]["kind"] == "guest"
    assert welcome["you"]["name"] == "Gina Carer"
    assert welcome["visit"]["id"] == str(call.visit.pk)
    assert sorted(p["kind"] for p in welcome["participants"]) == ["clinician", "patient"]


async def test_an_unclaimed_guest_link_cannot_open_the_call(world: World, sockets: Sockets) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    _guest_id, token = await db(invite_guest)(world.clinician, call.visit)
    guest = sockets.new(guest_path(token))
    assert await guest.refused() == (4403, "enter your name first")


async def test_a_claimed_guest_link_does_not_open_the_call_in_another_browser(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician)
    _guest_id, token = await db(invite_guest)(world.clinician, call.visit)
    await db(claim_guest)(token)

    no_session = sockets.new(guest_path(token))
    assert await no_session.refused() == (4404, "no such call")
    # Even a signed-in clinician of the clinic cannot use someone else's guest link.
    other_browser = await sockets.user(world.clinic_admin, guest_path(token))
    assert await other_browser.refused() == (4404, "no such call")


async def test_a_guest_cannot_come_back_after_the_call_ended_or_after_leaving(
    world: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, world.harbour, world.clinician, with_guest=True)
    assert call.guest is not None
    # The guest leaves; their link stops working even in the browser that claimed it.
    await call.guest.send({"type": "leave"})
    assert await call.guest.closed() == (1000, "left the call")
    await call.guest.close()
    again = sockets.new(call.guest.path, cookie=call.guest_cookie)
    assert await again.refused() == (4409, "this call has ended")

    # A second guest's link, claimed before the clinician ends the call, dies with the call.
    _gid, token = await db(invite_guest)(world.clinician, call.visit)
    claimed = await db(claim_guest)(token)
    await call.clinician.send({"type": "end"})
    await call.clinician.until("ended")
    late = sockets.new(guest_path(token), cookie=claimed.cookie)
    assert await late.refused() == (4409, "this call has ended")
