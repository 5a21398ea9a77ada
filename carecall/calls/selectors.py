from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from carecall.calls.models import Participant, ParticipantKind, Visit, VisitStatus
from carecall.calls.schemas import ParticipantInfo, WaitingVisit
from carecall.orgs.models import Clinic


def participant_is_present(participant: Participant, visit: Visit) -> bool:
    if participant.kind == ParticipantKind.PATIENT:
        # A patient who stepped out (left_at set) is not in the call until they rejoin.
        return visit.status == VisitStatus.IN_CALL and participant.left_at is None
    return participant.joined_at is not None and participant.left_at is None


# A count above zero is believed only while its owner keeps being seen (on connect, and on
# pings: presence.heartbeats writes them in batches, at most every SEEN_EVERY = 30 s a row).
# Pages ping every 25 s (call.js `pingEvery`), so a live socket's last_seen_at is normally
# under ~55 s old; a tab left in the background can have its timers cut to about one a
# minute by the browser (Chrome's intensive throttling), ~90 s. Three minutes is twice that,
# so a late or lost ping never makes a live person look gone, while a count left by a crashed
# process stops counting soon after.
STALE_AFTER = timedelta(minutes=3)


def _seen_at() -> Coalesce:
    # Counts raised before last_seen_at existed have no heartbeat yet: their connect is the last
    # time they were seen (and created_at if even that is missing).
    return Coalesce("last_seen_at", "connected_at", "created_at")


def participant_is_connected(participant: Participant, now: datetime | None = None) -> bool:
    """A websocket of theirs is open, as far as we can tell: counted, and seen lately."""
    if participant.connections <= 0:
        return False
    seen = participant.last_seen_at or participant.connected_at or participant.created_at
    return seen >= (now or timezone.now()) - STALE_AFTER


def participant_info(participant: Participant) -> ParticipantInfo:
    return ParticipantInfo(
        id=str(participant.pk),
        name=participant.display_name,
        kind=participant.kind,  # type: ignore[arg-type]
        audio=participant.audio_on,
        video=participant.video_on,
        connected=participant_is_connected(participant),
        joining=participant_is_joining(participant),
    )


def participant_is_joining(participant: Participant) -> bool:
    """Joined (or rejoined) and no page of theirs has connected since."""
    if participant.connections > 0:
        return False
    if participant.connected_at is None:
        return True
    return participant.joined_at is not None and participant.connected_at < participant.joined_at


# A patient with no connection for this long has gone (closed the tab and never came back).
ABANDONED_AFTER = timedelta(minutes=30)


def abandoned_visits(now: datetime | None = None) -> QuerySet[Visit]:
    """Open visits whose patient has not been seen for ABANDONED_AFTER, with nobody else
    connected either (a clinician still in the call keeps it).

    Not seen: no connection since then, or a count still above zero (left by a process that
    crashed before counting its sockets down) with no heartbeat since then. Connected: counted
    and seen within STALE_AFTER."""
    now = now or timezone.now()
    cutoff = now - ABANDONED_AFTER
    stale_patient = (
        Participant.objects.filter(visit=OuterRef("pk"), kind=ParticipantKind.PATIENT)
        .annotate(
            dropped_at=Coalesce("disconnected_at", "created_at"),
            seen_at=_seen_at(),
        )
        .filter(
            Q(connections__lte=0, dropped_at__lt=cutoff) | Q(connections__gt=0, seen_at__lt=cutoff)
        )
    )
    anyone_connected = (
        Participant.objects.filter(visit=OuterRef("pk"), connections__gt=0, left_at__isnull=True)
        .annotate(seen_at=_seen_at())
        .filter(seen_at__gte=now - STALE_AFTER)
    )
    return (
        Visit.objects.exclude(status=VisitStatus.DONE)
        .filter(Exists(stale_patient))
        .exclude(Exists(anyone_connected))
    )


def present_participants(visit: Visit, *, exclude: Participant | None = None) -> list[Participant]:
    people = Participant.objects.filter(visit=visit).order_by("created_at")
    return [
        p
        for p in people
        if participant_is_present(p, visit) and (exclude is None or p.pk != exclude.pk)
    ]


def waiting_area_visits(clinic: Clinic) -> QuerySet[Visit]:
    """Everyone in the clinic's waiting area or in a call, oldest first (not abandoned ones,
    even before `visits_abandon` has marked them done)."""
    return (
        Visit.objects.filter(clinic=clinic)
        .exclude(status=VisitStatus.DONE)
        .exclude(pk__in=abandoned_visits().values("pk"))
        .prefetch_related(
            Prefetch("participants", queryset=Participant.objects.order_by("created_at"))
        )
        .order_by("entered_at")
    )


def waiting_visit_info(
    visit: Visit, *, participants: list[Participant] | None = None
) -> WaitingVisit:
    """A waiting-area row; `participants`: the visit's, if the caller has read them already."""
    if participants is None:
        participants = list(visit.participants.all())
    patient = next((p for p in participants if p.kind == ParticipantKind.PATIENT), None)
    with_names = [
        p.display_name
        for p in participants
        if p.kind == ParticipantKind.CLINICIAN and p.joined_at and p.left_at is None
    ]
    return WaitingVisit(
        id=str(visit.pk),
        name=visit.display_name,
        status=visit.status,  # type: ignore[arg-type]
        status_label=str(VisitStatus(visit.status).label),
        entered_at=visit.entered_at.isoformat(),
        status_changed_at=visit.status_changed_at.isoformat(),
        with_names=with_names,
        connected=bool(patient and participant_is_connected(patient)),
        left=bool(patient and patient.left_at is not None),
        join_url=reverse("calls:join", args=[visit.clinic_id, visit.pk]),
    )
