"""Visits and calls: entering, waiting, joining, hold, leaving, ending, guests, presence.

Each change is made under a lock on the visit row and announces itself to browsers after commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal, cast

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.calls.access import token_hash
from carecall.calls.events import broadcast_on_commit, call_group, waiting_group
from carecall.calls.models import (
    MAX_PARTICIPANTS,
    VISIT_TRANSITIONS,
    Participant,
    ParticipantKind,
    Visit,
    VisitStatus,
)
from carecall.calls.schemas import (
    EndedOut,
    ParticipantConnectionOut,
    ParticipantJoinedOut,
    ParticipantLeftOut,
    ParticipantMediaOut,
    VisitChangedOut,
    VisitRemovedOut,
    VisitStatusOut,
)
from carecall.calls.selectors import (
    abandoned_visits,
    participant_info,
    participant_is_connected,
    present_participants,
    waiting_visit_info,
)
from carecall.calls.waiting_area import WaitingAreaSettings
from carecall.core.errors import ServiceError
from carecall.orgs.access import clinic_for_user
from carecall.orgs.models import Clinic, Role

GUEST_LINK_HOURS = 12
# A participant's row takes a heartbeat write at most this often, however many tabs ping.
SEEN_EVERY = timedelta(seconds=30)


def _lock(visit: Visit) -> Visit:
    return Visit.objects.select_for_update(of=("self",)).select_related("clinic").get(pk=visit.pk)


def _announce_to_waiting_area(visit: Visit) -> None:
    if visit.status == VisitStatus.DONE:
        broadcast_on_commit(waiting_group(visit.clinic_id), VisitRemovedOut(id=str(visit.pk)))
        return
    fresh = Visit.objects.prefetch_related("participants").get(pk=visit.pk)
    broadcast_on_commit(
        waiting_group(visit.clinic_id), VisitChangedOut(visit=waiting_visit_info(fresh))
    )


def _move(visit: Visit, status: VisitStatus) -> None:
    if status not in VISIT_TRANSITIONS[visit.status]:
        raise ServiceError(
            _("This visit cannot go from %(old)s to %(new)s.")
            % {"old": VisitStatus(visit.status).label, "new": status.label}
        )
    now = timezone.now()
    visit.status = status
    visit.status_changed_at = now
    if status == VisitStatus.IN_CALL and visit.admitted_at is None:
        visit.admitted_at = now
    if status == VisitStatus.ON_HOLD:
        visit.on_hold_at = now
    if status == VisitStatus.DONE:
        visit.ended_at = now
    visit.save()
    participants = (
        [participant_info(p) for p in present_participants(visit)]
        if status == VisitStatus.IN_CALL
        else []
    )
    wire_status = cast(Literal["waiting", "in_call", "on_hold", "done"], status.value)
    broadcast_on_commit(
        call_group(visit.pk), VisitStatusOut(status=wire_status, participants=participants)
    )
    _announce_to_waiting_area(visit)


def _require_required(value: str, required: bool, message: str, field: str) -> str:
    value = value.strip()
    if required and not value:
        raise ServiceError(message, field=field)
    return value


@transaction.atomic
def visit_create(
    *,
    clinic: Clinic,
    first_name: str,
    last_name: str,
    phone: str,
    accepted_terms: bool,
) -> tuple[Visit, str]:
    """A patient enters the clinic's waiting area. Returns the visit and its link token."""
    settings = WaitingAreaSettings.for_clinic(clinic)
    if not settings.is_open(clinic):
        raise ServiceError(_("%(clinic)s's waiting area is closed.") % {"clinic": clinic.name})
    if not accepted_terms:
        raise ServiceError(_("Accept the clinic's terms to continue."), field="accept_terms")
    first = _require_required(
        first_name, settings.require_first_name, _("Enter your first name."), "first_name"
    )
    last = _require_required(
        last_name, settings.require_last_name, _("Enter your last name."), "last_name"
    )
    phone = _require_required(phone, settings.require_phone, _("Enter your phone number."), "phone")
    raw_token = secrets.token_urlsafe(32)
    visit = Visit.objects.create(
        clinic=clinic,
        token_hash=token_hash(raw_token),
        first_name=first,
        last_name=last,
        phone=phone,
    )
    Participant.objects.create(
        visit=visit, kind=ParticipantKind.PATIENT, display_name=visit.display_name
    )
    _announce_to_waiting_area(visit)
    return visit, raw_token


@transaction.atomic
def visit_join(*, actor: User, visit: Visit) -> Participant:
    """A clinic member joins the patient's call (from the waiting area's Join)."""
    clinic_for_user(actor, visit.clinic_id)
    visit = _lock(visit)
    if visit.status == VisitStatus.DONE:
        raise ServiceError(_("This visit has ended."))
    participant, _created = Participant.objects.get_or_create(
        visit=visit,
        user=actor,
        defaults={"kind": ParticipantKind.CLINICIAN, "display_name": actor.get_full_name()},
    )
    already_present = participant.joined_at is not None and participant.left_at is None
    if not already_present:
        if len(present_participants(visit)) >= MAX_PARTICIPANTS:
            raise ServiceError(
                _("This call is full: at most %(n)d people.") % {"n": MAX_PARTICIPANTS}
            )
        participant.joined_at = timezone.now()
        participant.left_at = None
        # A new page is about to connect; counts left by an earlier page do not carry over.
        participant.connections = 0
        participant.save(update_fields=["joined_at", "left_at", "connections"])
        broadcast_on_commit(
            call_group(visit.pk), ParticipantJoinedOut(participant=participant_info(participant))
        )
    if visit.status != VisitStatus.IN_CALL:
        _move(visit, VisitStatus.IN_CALL)
    else:
        _announce_to_waiting_area(visit)
    return participant


def _require_clinician_in_call(actor: User, visit: Visit) -> None:
    clinic_for_user(actor, visit.clinic_id)
    if visit.status == VisitStatus.DONE:
        raise ServiceError(_("This visit has ended."))
    if not Participant.objects.filter(
        visit=visit, user=actor, joined_at__isnull=False, left_at__isnull=True
    ).exists():
        raise ServiceError(_("Join the call first."))


@transaction.atomic
def visit_hold(*, actor: User, visit: Visit) -> Visit:
    visit = _lock(visit)
    _require_clinician_in_call(actor, visit)
    _move(visit, VisitStatus.ON_HOLD)
    return visit


@transaction.atomic
def visit_resume(*, actor: User, visit: Visit) -> Visit:
    visit = _lock(visit)
    _require_clinician_in_call(actor, visit)
    _move(visit, VisitStatus.IN_CALL)
    return visit


@transaction.atomic
def visit_end(*, actor: User, visit: Visit) -> Visit:
    """End the call for everyone; every link to it stops working."""
    visit = _lock(visit)
    _require_clinician_in_call(actor, visit)
    now = timezone.now()
    Participant.objects.filter(visit=visit, left_at__isnull=True).update(left_at=now)
    visit.ended_by = actor
    broadcast_on_commit(call_group(visit.pk), EndedOut(by=actor.get_full_name()))
    _move(visit, VisitStatus.DONE)
    return visit


@transaction.atomic
def visit_leave_by_patient(*, visit: Visit) -> Visit:
    """The patient steps out (their Leave, confirmed). The visit stays open: the same link
    brings them back (`visit_rejoin_by_patient`) until a clinician ends the consultation or it
    is abandoned (`visits_abandon`, ABANDONED_AFTER without them). Whoever is in the call
    hears that they left; the waiting area shows them as gone for now."""
    visit = _lock(visit)
    if visit.status == VisitStatus.DONE:
        return visit
    updated = Participant.objects.filter(
        visit=visit, kind=ParticipantKind.PATIENT, left_at__isnull=True
    ).update(left_at=timezone.now())
    if updated:
        patient = Participant.objects.get(visit=visit, kind=ParticipantKind.PATIENT)
        broadcast_on_commit(call_group(visit.pk), ParticipantLeftOut(id=str(patient.pk)))
        _announce_to_waiting_area(visit)
    return visit


@transaction.atomic
def visit_rejoin_by_patient(*, visit: Visit) -> Participant:
    """The patient who stepped out comes back with their link (their page's Rejoin): into the
    call if it is still going, else the waiting area. Nothing happens if they never left."""
    visit = _lock(visit)
    if visit.status == VisitStatus.DONE:
        raise ServiceError(_("This visit has ended."))
    patient = Participant.objects.get(visit=visit, kind=ParticipantKind.PATIENT)
    if patient.left_at is None:
        return patient
    patient.left_at = None
    patient.save(update_fields=["left_at"])
    if visit.status == VisitStatus.IN_CALL:
        broadcast_on_commit(
            call_group(visit.pk), ParticipantJoinedOut(participant=participant_info(patient))
        )
    _announce_to_waiting_area(visit)
    return patient


def _end_with_the_patient(visit: Visit) -> None:
    """The patient is gone for good (abandoned the visit): the call hears it and ends. The
    caller holds the visit's lock and has checked it is not done."""
    patient = Participant.objects.get(visit=visit, kind=ParticipantKind.PATIENT)
    # The visit ends with the patient: everyone else in it has left too.
    Participant.objects.filter(visit=visit, left_at__isnull=True).update(left_at=timezone.now())
    broadcast_on_commit(call_group(visit.pk), ParticipantLeftOut(id=str(patient.pk)))
    _move(visit, VisitStatus.DONE)


@transaction.atomic
def visit_abandon(*, visit: Visit) -> Visit:
    """End one visit as if its patient had gone for good (`visits_abandon` does this for every
    visit unseen for ABANDONED_AFTER)."""
    visit = _lock(visit)
    if visit.status != VisitStatus.DONE:
        _end_with_the_patient(visit)
    return visit


@transaction.atomic
def participant_leave(*, participant: Participant) -> None:
    """A clinician or guest leaves. When the last clinician goes, the patient waits again."""
    visit = _lock(participant.visit)
    if participant.kind == ParticipantKind.PATIENT:
        visit_leave_by_patient(visit=visit)  # steps out; the visit stays open
        return
    updated = Participant.objects.filter(pk=participant.pk, left_at__isnull=True).update(
        left_at=timezone.now()
    )
    if not updated or visit.status == VisitStatus.DONE:
        return
    broadcast_on_commit(call_group(visit.pk), ParticipantLeftOut(id=str(participant.pk)))
    clinicians_left = Participant.objects.filter(
        visit=visit, kind=ParticipantKind.CLINICIAN, joined_at__isnull=False, left_at__isnull=True
    ).exists()
    if not clinicians_left and visit.status in (VisitStatus.IN_CALL, VisitStatus.ON_HOLD):
        _move(visit, VisitStatus.WAITING)
    else:
        _announce_to_waiting_area(visit)


@transaction.atomic
def participant_connection_change(*, participant: Participant, delta: int) -> int:
    """Count a websocket opening (+1) or closing (-1); announce when someone drops or returns.

    An opening also stamps last_seen_at, and one whose count was already above zero but stale
    (left by a crashed process: selectors.participant_is_connected) is announced as a return
    too, since the others were shown them as lost."""
    # One locked read and one write (this runs for every socket that opens or closes: at a
    # restart, thousands of times in a few seconds).
    rows = Participant.objects.filter(pk=participant.pk)
    before = (
        rows.select_for_update(of=("self",))
        .select_related("visit")
        .only(
            "connections",
            "last_seen_at",
            "connected_at",
            "created_at",
            "kind",
            "visit__status",
            "visit__clinic_id",
        )
        .get()
    )
    seen = timezone.now()
    now = max(0, before.connections + delta)
    changes: dict[str, object] = {"connections": now}
    returned_from_stale = False
    if delta > 0:
        returned_from_stale = before.connections > 0 and not participant_is_connected(before, seen)
        changes["last_seen_at"] = seen
    counted_change = (delta > 0 and now == 1) or (delta < 0 and now == 0 < before.connections)
    if counted_change:
        changes["connected_at" if now else "disconnected_at"] = seen
    rows.update(**changes)
    participant.connections = now
    if counted_change or returned_from_stale:
        visit = before.visit
        if visit.status == VisitStatus.DONE:
            return now
        broadcast_on_commit(
            call_group(visit.pk),
            ParticipantConnectionOut(id=str(participant.pk), connected=now > 0),
            exclude=str(participant.pk),
        )
        if before.kind == ParticipantKind.PATIENT:
            _announce_to_waiting_area(visit)
    return now


def participants_seen(*, participant_ids: Iterable[str], now: datetime | None = None) -> int:
    """Heartbeats of many participants in one statement (presence.Heartbeats writes them in
    batches); rows stamped within SEEN_EVERY are left alone. Returns how many took a stamp."""
    now = now or timezone.now()
    return (
        Participant.objects.filter(pk__in=list(participant_ids))
        .filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=now - SEEN_EVERY))
        .update(last_seen_at=now)
    )


def visits_abandon(*, now: datetime | None = None) -> int:
    """Mark visits whose patient left without a word (closed the tab, lost the network for good)
    as done, so they leave the waiting area. Run periodically; returns how many it ended."""
    ended = 0
    for visit_id in list(abandoned_visits(now).values_list("pk", flat=True)):
        with transaction.atomic():
            visit = Visit.objects.select_for_update(of=("self",)).get(pk=visit_id)
            # Checked again under the lock: the patient may have come back meanwhile.
            if not abandoned_visits(now).filter(pk=visit_id).exists():
                continue
            _end_with_the_patient(visit)  # as if the patient had left: the call hears it
            ended += 1
    return ended


def participants_connections_forget() -> int:
    """At the start of the only server process, no websocket can be open: counts left above zero
    by a process that died are stale, and would keep its patients from ever counting as gone.
    Only safe when this process is the only one (the demo; `serve` with one worker and no Redis).
    Returns how many participants it reset."""
    return Participant.objects.filter(connections__gt=0).update(
        connections=0, disconnected_at=timezone.now()
    )


@transaction.atomic
def participant_media_set(*, participant: Participant, audio: bool, video: bool) -> None:
    Participant.objects.filter(pk=participant.pk).update(audio_on=audio, video_on=video)
    broadcast_on_commit(
        call_group(participant.visit_id),
        ParticipantMediaOut(id=str(participant.pk), audio=audio, video=video),
        exclude=str(participant.pk),
    )


@transaction.atomic
def guest_invite_create(*, actor: User, visit: Visit, base_url: str) -> tuple[Participant, str]:
    """A single-use link for a carer or interpreter to join this call. Returns (guest, url)."""
    visit = _lock(visit)
    _require_clinician_in_call(actor, visit)
    if visit.status == VisitStatus.DONE:
        raise ServiceError(_("This visit has ended."))
    raw_token = secrets.token_urlsafe(32)
    guest = Participant.objects.create(
        visit=visit,
        kind=ParticipantKind.GUEST,
        token_hash=token_hash(raw_token),
        invited_by=actor,
        display_name=_("Guest"),
    )
    return guest, base_url.rstrip("/") + reverse("calls:guest", args=[raw_token])


@transaction.atomic
def guest_claim(*, guest: Participant, display_name: str) -> Participant:
    guest = (
        Participant.objects.select_for_update(of=("self",)).select_related("visit").get(pk=guest.pk)
    )
    if guest.claimed_at is not None:
        raise ServiceError(_("This guest link has been used already. Ask for a new one."))
    if guest.visit.status == VisitStatus.DONE:
        raise ServiceError(_("This call has ended."))
    if guest.created_at < timezone.now() - timedelta(hours=GUEST_LINK_HOURS):
        raise ServiceError(_("This guest link has expired. Ask for a new one."))
    name = display_name.strip()
    if not name:
        raise ServiceError(_("Enter your name."), field="display_name")
    if len(present_participants(guest.visit)) >= MAX_PARTICIPANTS:
        raise ServiceError(_("This call is full: at most %(n)d people.") % {"n": MAX_PARTICIPANTS})
    now = timezone.now()
    guest.display_name = name[:120]
    guest.claimed_at = now
    guest.joined_at = now
    guest.save(update_fields=["display_name", "claimed_at", "joined_at"])
    broadcast_on_commit(
        call_group(guest.visit_id), ParticipantJoinedOut(participant=participant_info(guest))
    )
    _announce_to_waiting_area(guest.visit)
    return guest


def waiting_area_update(*, actor: User, clinic: Clinic, settings: WaitingAreaSettings) -> Clinic:
    clinic_for_user(actor, clinic.pk, roles=(Role.ORG_ADMIN, Role.CLINIC_ADMIN))
    settings.validate()
    clinic.waiting_area = settings.to_json()
    clinic.save(update_fields=["waiting_area", "updated_at"])
    return clinic
