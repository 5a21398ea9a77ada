from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from carecall.calls.models import Participant, ParticipantKind, Visit, VisitStatus
from carecall.calls.schemas import ParticipantInfo, WaitingVisit
from carecall.orgs.models import Clinic


def participant_is_present(participant: Participant, visit: Visit) -> bool:
    if participant.kind == ParticipantKind.PATIENT:
        return visit.status == VisitStatus.IN_CALL
    return participant.joined_at is not None and participant.left_at is None


def participant_info(participant: Participant) -> ParticipantInfo:
    return ParticipantInfo(
        id=str(participant.pk),
        name=participant.display_name,
        kind=participant.kind,  # type: ignore[arg-type]
        audio=participant.audio_on,
        video=participant.video_on,
        connected=participant.connections > 0,
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
    """Open visits whose patient has had no connection for ABANDONED_AFTER, with nobody else
    connected either (a clinician still in the call keeps it)."""
    cutoff = (now or timezone.now()) - ABANDONED_AFTER
    stale_patient = (
        Participant.objects.filter(
            visit=OuterRef("pk"), kind=ParticipantKind.PATIENT, connections__lte=0
        )
        .annotate(last_seen=Coalesce("disconnected_at", "created_at"))
        .filter(last_seen__lt=cutoff)
    )
    anyone_connected = Participant.objects.filter(
        visit=OuterRef("pk"), connections__gt=0, left_at__isnull=True
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


def waiting_visit_info(visit: Visit) -> WaitingVisit:
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
        connected=bool(patient and patient.connections > 0),
        join_url=reverse("calls:join", args=[visit.clinic_id, visit.pk]),
    )
