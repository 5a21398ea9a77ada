"""Limits of a call (six people, guest links that expire) and visits their patient abandoned."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carecall.accounts.models import User
from carecall.calls import services
from carecall.calls.models import MAX_PARTICIPANTS, Participant, ParticipantKind, Visit, VisitStatus
from carecall.calls.selectors import (
    ABANDONED_AFTER,
    STALE_AFTER,
    present_participants,
    waiting_area_visits,
    waiting_visit_info,
)
from carecall.core.errors import ServiceError
from carecall.orgs.models import Membership, Role
from testsupport.world import World, client_for, make_user

FULL = "This call is full: at most 6 people."


def _enter(world: World, first: str = "Pat") -> Visit:
    visit, _token = services.visit_create(
        clinic=world.harbour, first_name=first, last_name="Jones", phone="", accepted_terms=True
    )
    return visit


def _harbour_clinicians(world: World, n: int) -> list[User]:
    people = []
    for i in range(n):
        user = make_user(f"doc{i}@example.test", f"Doctor {i}")
        Membership.objects.create(
            user=user, organisation=world.organisation, clinic=world.harbour, role=Role.CLINICIAN
        )
        people.append(user)
    return people


def _patient(visit: Visit) -> Participant:
    return Participant.objects.get(visit=visit, kind=ParticipantKind.PATIENT)


def _invite(world: World, visit: Visit) -> str:
    _guest, url = services.guest_invite_create(
        actor=world.clinician, visit=Visit.objects.get(pk=visit.pk), base_url="http://testserver"
    )
    return url.removeprefix("http://testserver")


# ---------------------------------------------------------------- six people at most


@pytest.mark.django_db
def test_a_seventh_person_cannot_join_a_full_call(world: World) -> None:
    assert MAX_PARTICIPANTS == 6
    visit = _enter(world)
    # The patient and five clinicians: six.
    for user in [world.clinician, *_harbour_clinicians(world, 4)]:
        services.visit_join(actor=user, visit=visit)
    assert len(present_participants(Visit.objects.get(pk=visit.pk))) == 6

    with pytest.raises(ServiceError, match=FULL):
        services.visit_join(actor=world.clinic_admin, visit=visit)
    assert not Participant.objects.filter(visit=visit, user=world.clinic_admin).exists()

    # Someone already in the call may come back (a reload), and a seat freed is a seat.
    services.visit_join(actor=world.clinician, visit=visit)
    leaving = Participant.objects.get(visit=visit, user=world.clinician)
    services.participant_leave(participant=leaving)
    services.visit_join(actor=world.clinic_admin, visit=visit)


@pytest.mark.django_db
def test_the_waiting_area_says_why_a_full_call_cannot_be_joined(world: World) -> None:
    visit = _enter(world)
    for user in [world.clinician, *_harbour_clinicians(world, 4)]:
        services.visit_join(actor=user, visit=visit)
    client = client_for(world.clinic_admin)
    response = client.post(reverse("calls:join", args=[world.harbour.pk, visit.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("calls:waiting_area", args=[world.harbour.pk])
    assert FULL in response.content.decode()


@pytest.mark.django_db
def test_a_guest_cannot_claim_a_seat_in_a_full_call(world: World) -> None:
    visit = _enter(world)
    services.visit_join(actor=world.clinician, visit=visit)
    link = _invite(world, visit)  # made while there was room
    for user in _harbour_clinicians(world, 4):
        services.visit_join(actor=user, visit=visit)

    response = Client().post(link, {"display_name": "Gina Carer"})
    assert response.status_code == 400
    assert FULL in response.content.decode()
    assert not Participant.objects.filter(visit=visit, claimed_at__isnull=False).exists()


# ---------------------------------------------------------------- guest links expire


@pytest.mark.django_db
@pytest.mark.parametrize(("age", "works"), [(11.9, True), (12.1, False)])
def test_a_guest_link_works_for_guest_link_hours(world: World, age: float, works: bool) -> None:
    assert services.GUEST_LINK_HOURS == 12
    visit = _enter(world)
    services.visit_join(actor=world.clinician, visit=visit)
    link = _invite(world, visit)
    Participant.objects.filter(visit=visit, kind=ParticipantKind.GUEST).update(
        created_at=timezone.now() - timedelta(hours=age)
    )
    response = Client().post(link, {"display_name": "Gina Carer"})
    if works:
        assert response.status_code == 302
    else:
        assert response.status_code == 400
        assert "This guest link has expired. Ask for a new one." in response.content.decode()
    guest = Participant.objects.get(visit=visit, kind=ParticipantKind.GUEST)
    assert (guest.claimed_at is not None) is works


# ---------------------------------------------------------------- abandoned visits


def _drop(participant: Participant, minutes_ago: float) -> None:
    services.participant_connection_change(participant=participant, delta=1)
    services.participant_connection_change(participant=participant, delta=-1)
    Participant.objects.filter(pk=participant.pk).update(
        disconnected_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


@pytest.mark.django_db
def test_connecting_and_dropping_are_timestamped(world: World) -> None:
    patient = _patient(_enter(world))
    services.participant_connection_change(participant=patient, delta=1)
    patient.refresh_from_db()
    assert patient.connected_at is not None and patient.disconnected_at is None
    services.participant_connection_change(participant=patient, delta=-1)
    patient.refresh_from_db()
    assert patient.disconnected_at is not None and patient.disconnected_at >= patient.connected_at


@pytest.mark.django_db
def test_a_patient_gone_for_30_minutes_is_ended_and_leaves_the_waiting_area(
    world: World,
) -> None:
    assert ABANDONED_AFTER.total_seconds() == 30 * 60
    gone, recent, here = _enter(world, "Gone"), _enter(world, "Recent"), _enter(world, "Here")
    _drop(_patient(gone), minutes_ago=31)
    _drop(_patient(recent), minutes_ago=29)
    services.participant_connection_change(participant=_patient(here), delta=1)
    Participant.objects.filter(pk=_patient(here).pk).update(
        created_at=timezone.now() - timedelta(hours=3)
    )

    # Hidden from the dashboard at once, before anything marks it done...
    assert [v.first_name for v in waiting_area_visits(world.harbour)] == ["Recent", "Here"]
    # ...and ended by the periodic sweep.
    assert services.visits_abandon() == 1
    gone.refresh_from_db()
    assert gone.status == VisitStatus.DONE and gone.ended_at is not None
    assert _patient(gone).left_at is not None
    for visit in (recent, here):
        visit.refresh_from_db()
        assert visit.status == VisitStatus.WAITING
    assert services.visits_abandon() == 0


@pytest.mark.django_db
def test_a_patient_who_never_connected_is_abandoned_after_30_minutes(world: World) -> None:
    visit = _enter(world)
    assert services.visits_abandon() == 0
    assert services.visits_abandon(now=timezone.now() + timedelta(minutes=31)) == 1
    visit.refresh_from_db()
    assert visit.status == VisitStatus.DONE


@pytest.mark.django_db
def test_a_call_with_a_clinician_still_connected_is_not_abandoned(world: World) -> None:
    visit = _enter(world)
    clinician = services.visit_join(actor=world.clinician, visit=visit)
    services.participant_connection_change(participant=clinician, delta=1)
    _drop(_patient(visit), minutes_ago=45)
    assert services.visits_abandon() == 0
    assert [v.pk for v in waiting_area_visits(world.harbour)] == [visit.pk]

    services.participant_connection_change(participant=clinician, delta=-1)
    assert services.visits_abandon() == 1


@pytest.mark.django_db
def test_the_abandon_visits_command_ends_them(world: World) -> None:
    visit = _enter(world)
    _drop(_patient(visit), minutes_ago=60)
    out = StringIO()
    call_command("abandon_visits", stdout=out)
    assert "Ended 1 abandoned visit(s)." in out.getvalue()
    visit.refresh_from_db()
    assert visit.status == VisitStatus.DONE


@pytest.mark.django_db
def test_connection_counts_left_by_a_dead_process_are_forgotten_at_start(world: World) -> None:
    """A server that died never counted its sockets down. Its patients still count as
    connected until their heartbeat is ABANDONED_AFTER old (below); the only process resets
    the counts when it starts, so from then on they count as gone at once."""
    visit = _enter(world)
    Participant.objects.filter(pk=_patient(visit).pk).update(
        connections=2,
        connected_at=timezone.now() - timedelta(hours=2),
        last_seen_at=timezone.now() - timedelta(seconds=10),
    )
    assert waiting_visit_info(waiting_area_visits(world.harbour).get()).connected

    assert services.participants_connections_forget() == 1
    patient = _patient(visit)
    assert patient.connections == 0 and patient.disconnected_at is not None
    assert not waiting_visit_info(waiting_area_visits(world.harbour).get()).connected
    assert services.visits_abandon(now=timezone.now() + timedelta(minutes=31)) == 1


# ---------------------------------------------------------------- heartbeat


def _stuck(participant: Participant, seen_minutes_ago: float) -> None:
    """Connected through a process that then crashed: the count stays at 1, no pings arrive."""
    services.participant_connection_change(participant=participant, delta=1)
    Participant.objects.filter(pk=participant.pk).update(
        last_seen_at=timezone.now() - timedelta(minutes=seen_minutes_ago)
    )


@pytest.mark.django_db
def test_connecting_stamps_last_seen_and_heartbeats_write_it_at_most_every_30_seconds(
    world: World, django_assert_num_queries: Any
) -> None:
    assert services.SEEN_EVERY.total_seconds() == 30
    patient = _patient(_enter(world))
    assert patient.last_seen_at is None
    services.participant_connection_change(participant=patient, delta=1)
    connected = _patient(patient.visit).last_seen_at
    assert connected is not None

    # Within the window: one UPDATE whose WHERE matches nothing; the stamp stays.
    ids = [str(patient.pk)]
    soon = connected + timedelta(seconds=29)
    with django_assert_num_queries(1):
        assert services.participants_seen(participant_ids=ids, now=soon) == 0
    assert _patient(patient.visit).last_seen_at == connected

    later = connected + timedelta(seconds=31)
    with django_assert_num_queries(1):
        assert services.participants_seen(participant_ids=ids, now=later) == 1
    assert _patient(patient.visit).last_seen_at == later
    assert services.participants_seen(participant_ids=ids, now=later + timedelta(seconds=1)) == 0
    assert _patient(patient.visit).last_seen_at == later


@pytest.mark.django_db
def test_heartbeats_of_many_participants_are_one_statement(
    world: World, django_assert_num_queries: Any
) -> None:
    patients = [_patient(_enter(world)) for _ in range(5)]
    with django_assert_num_queries(1):
        stamped = services.participants_seen(participant_ids=[str(p.pk) for p in patients])
    assert stamped == 5
    assert all(_patient(p.visit).last_seen_at is not None for p in patients)


@pytest.mark.django_db
def test_a_patient_stuck_connected_by_a_crashed_process_is_abandoned_after_30_minutes_unseen(
    world: World,
) -> None:
    assert STALE_AFTER < ABANDONED_AFTER
    gone, recent, here = _enter(world, "Gone"), _enter(world, "Recent"), _enter(world, "Here")
    _stuck(_patient(gone), seen_minutes_ago=31)
    _stuck(_patient(recent), seen_minutes_ago=29)
    _stuck(_patient(here), seen_minutes_ago=1)

    # The dashboard hides the gone one at once and shows the one not seen for minutes as lost.
    shown = {v.first_name: waiting_visit_info(v) for v in waiting_area_visits(world.harbour)}
    assert sorted(shown) == ["Here", "Recent"]
    assert (shown["Recent"].connected, shown["Here"].connected) == (False, True)

    assert services.visits_abandon() == 1
    gone.refresh_from_db()
    assert gone.status == VisitStatus.DONE and _patient(gone).left_at is not None
    for visit in (recent, here):
        visit.refresh_from_db()
        assert visit.status == VisitStatus.WAITING
        assert _patient(visit).connections == 1
    assert services.visits_abandon() == 0
    # Two minutes on, the one last seen 29 minutes ago is gone too.
    assert services.visits_abandon(now=timezone.now() + timedelta(minutes=2)) == 1
    recent.refresh_from_db()
    assert recent.status == VisitStatus.DONE


@pytest.mark.django_db
def test_a_clinician_stuck_connected_by_a_crashed_process_does_not_keep_the_visit(
    world: World,
) -> None:
    visit = _enter(world)
    clinician = services.visit_join(actor=world.clinician, visit=visit)
    _stuck(clinician, seen_minutes_ago=1)
    _drop(_patient(visit), minutes_ago=45)
    assert services.visits_abandon() == 0  # seen a minute ago: still in the call

    Participant.objects.filter(pk=clinician.pk).update(
        last_seen_at=timezone.now() - STALE_AFTER - timedelta(seconds=1)
    )
    assert services.visits_abandon() == 1
