"""A call socket's connect in two statements: one counts it, one reads its welcome.

At a restart every page reconnects at once (2,000 sockets for 1,000 calls), so the connect is
the hot path then. The general path (`CallConsumer._identify_and_admit` and
`services.participant_connection_change`) ran eight statements a patient, most of the time in
Django compiling them. Here:

1. **The count** is one `UPDATE … RETURNING` whose `WHERE` is the access rule of the socket's
   link (the patient's token and their visit not ended, they have not stepped out; a staff
   member joined, still in the call, a member of the visit's clinic or an admin of its
   organisation; a guest who claimed the link in this browser). It matches no row when any rule
   fails or the socket needs more (a patient's Rejoin): the consumer then takes the general
   path, which says why or does the rejoin.
2. **The welcome** reads every participant of the visit with the visit, the clinic and each
   in-call app's "enabled" in one `SELECT`; the announcements of a return are made from it too.

The rules are the ones of `calls.access` and `orgs.access.clinic_for_user` (any role), in SQL.
`test_connect_query_counts.py` counts the statements; the persona tests hold the rules.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from carecall.calls.call_apps import (
    call_apps_enabled_annotations,
    call_apps_enabled_from,
    call_apps_for,
)
from carecall.calls.events import broadcast_on_commit, call_group, waiting_group
from carecall.calls.models import Participant, ParticipantKind, Visit, VisitStatus
from carecall.calls.schemas import (
    AppInfo,
    ParticipantConnectionOut,
    VisitChangedOut,
    VisitInfo,
    WelcomeOut,
)
from carecall.calls.selectors import (
    STALE_AFTER,
    participant_info,
    participant_is_present,
    waiting_visit_info,
)
from carecall.calls.turn import ice_servers_for
from carecall.calls.waiting_area import WaitingAreaSettings
from carecall.orgs.models import Clinic, Membership, Role


@dataclass(frozen=True)
class SocketLink:
    """What a socket's URL (and browser) says it is: the key the count's access rule checks."""

    kind: ParticipantKind
    token_hash: str = ""  # patient, guest
    visit_id: uuid.UUID | None = None  # staff
    user_id: int | None = None  # staff
    claimed_ids: tuple[str, ...] = ()  # guest: the links this browser claimed

    @property
    def key(self) -> tuple[object, ...]:
        """The same participant for the same key, for as long as the row lives."""
        return (self.kind, self.token_hash, self.visit_id, self.user_id)


@dataclass(frozen=True)
class Opened:
    participant_id: uuid.UUID
    visit_id: uuid.UUID
    connections: int
    # Their count went from 0 to 1, or was left stale by a crashed process: the others were
    # shown them as gone, so they are told of the return.
    returned: bool


_P = Participant._meta.db_table
_V = Visit._meta.db_table
_C = Clinic._meta.db_table
_M = Membership._meta.db_table
_DONE = VisitStatus.DONE.value

# Every SET expression reads the row as it was (SQL), so "was it 0, or stale" is decided by the
# same statement that counts: two sockets opening at once cannot both announce, or neither.
# S608: only table names and constants are formatted in; every value is a parameter.
_SET = (
    f"UPDATE {_P} SET connected_at = CASE"  # noqa: S608
    " WHEN connections <= 0 OR COALESCE(last_seen_at, connected_at, created_at) < %s THEN %s"
    " ELSE connected_at END, connections = connections + 1, last_seen_at = %s WHERE "
)
_RETURNING = " RETURNING id, visit_id, connections, CASE WHEN connected_at = %s THEN 1 ELSE 0 END"
_VISIT_OPEN = (
    f"EXISTS (SELECT 1 FROM {_V} v"  # noqa: S608
    f" WHERE v.id = {_P}.visit_id AND v.status <> '{_DONE}')"
)
_WHERE = {
    ParticipantKind.PATIENT: (
        f"kind = '{ParticipantKind.PATIENT.value}' AND left_at IS NULL AND visit_id = "  # noqa: S608
        f"(SELECT v.id FROM {_V} v WHERE v.token_hash = %s AND v.status <> '{_DONE}')"
    ),
    ParticipantKind.CLINICIAN: (
        f"visit_id = %s AND user_id = %s AND joined_at IS NOT NULL AND left_at IS NULL"  # noqa: S608
        f" AND EXISTS (SELECT 1 FROM {_V} v JOIN {_C} c ON c.id = v.clinic_id"
        f" JOIN {_M} m ON m.organisation_id = c.organisation_id"
        f" WHERE v.id = {_P}.visit_id AND v.status <> '{_DONE}' AND m.user_id = %s"
        f" AND (m.role = '{Role.ORG_ADMIN.value}' OR m.clinic_id = c.id))"
    ),
    ParticipantKind.GUEST: (
        f"kind = '{ParticipantKind.GUEST.value}' AND token_hash = %s AND claimed_at IS NOT NULL"
        f" AND left_at IS NULL AND {_VISIT_OPEN} AND id IN "
    ),
}


def _uuid_param(value: uuid.UUID) -> object:
    return Participant._meta.pk.get_db_prep_value(value, connection)


def _as_uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def participant_connection_open(*, link: SocketLink, now: datetime | None = None) -> Opened | None:
    """Count a socket opening for the participant behind `link` if the link's access rule
    holds (one statement); None when it does not (or the socket needs the general path)."""
    stamp = connection.ops.adapt_datetimefield_value(now or timezone.now())
    stale = connection.ops.adapt_datetimefield_value((now or timezone.now()) - STALE_AFTER)
    where = _WHERE[link.kind]
    params: list[Any] = [stale, stamp, stamp]
    if link.kind == ParticipantKind.PATIENT:
        params.append(link.token_hash)
    elif link.kind == ParticipantKind.CLINICIAN:
        assert link.visit_id is not None and link.user_id is not None
        params += [_uuid_param(link.visit_id), link.user_id, link.user_id]
    else:
        claimed = []
        for raw in link.claimed_ids:
            try:
                claimed.append(_uuid_param(uuid.UUID(str(raw))))
            except ValueError:
                continue
        if not claimed:
            return None
        where += "(" + ", ".join(["%s"] * len(claimed)) + ")"
        params += [link.token_hash, *claimed]
    params.append(stamp)
    with connection.cursor() as cursor:
        cursor.execute(_SET + where + _RETURNING, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return Opened(
        participant_id=_as_uuid(row[0]),
        visit_id=_as_uuid(row[1]),
        connections=int(row[2]),
        returned=bool(row[3]),
    )


def participant_connection_undo(*, opened: Opened) -> None:
    """Take back a count `participant_connection_open` made for a socket that was then refused
    (over its cap: others of theirs are open, so nobody is told anything)."""
    Participant.objects.filter(pk=opened.participant_id, connections__gt=0).update(
        connections=F("connections") - 1
    )


def welcome_rows(visit_id: uuid.UUID) -> list[Participant]:
    """Everyone in the visit, oldest first, each with the visit, its clinic and which in-call
    apps the clinic has enabled: one query."""
    return list(
        Participant.objects.filter(visit_id=visit_id)
        .select_related("visit", "visit__clinic")
        .annotate(**call_apps_enabled_annotations("visit__clinic_id"))
        .order_by("created_at")
    )


def welcome_for(me: Participant, everyone: list[Participant]) -> WelcomeOut:
    """The first message of a call socket, from `welcome_rows` (`me` among them)."""
    visit = me.visit
    clinic = visit.clinic
    return WelcomeOut(
        you=participant_info(me),
        visit=VisitInfo(
            id=str(visit.pk),
            status=visit.status,  # type: ignore[arg-type]
            clinic=clinic.name,
            waiting_message=WaitingAreaSettings.for_clinic(clinic).message,
            entered_at=visit.entered_at.isoformat(),
            admitted_at=visit.admitted_at.isoformat() if visit.admitted_at else None,
        ),
        participants=[
            participant_info(p)
            for p in everyone
            if p.pk != me.pk and participant_is_present(p, visit)
        ],
        ice_servers=ice_servers_for(str(me.pk)),
        ice_transport_policy=cast(Literal["all", "relay"], settings.ICE_TRANSPORT_POLICY),
        apps=[
            AppInfo(key=a.key, name=a.name, icon=a.icon)
            for a in call_apps_for(clinic=clinic, kind=me.kind, enabled=call_apps_enabled_from(me))
        ],
    )


def participant_return_announce(*, me: Participant, everyone: list[Participant]) -> None:
    """Tell the call (and for a patient the waiting area) that `me` is connected again, from
    the rows the welcome read (no query of its own)."""
    visit = me.visit
    if visit.status == VisitStatus.DONE:
        return
    broadcast_on_commit(
        call_group(visit.pk),
        ParticipantConnectionOut(id=str(me.pk), connected=True),
        exclude=str(me.pk),
    )
    if me.kind == ParticipantKind.PATIENT:
        broadcast_on_commit(
            waiting_group(visit.clinic_id),
            VisitChangedOut(visit=waiting_visit_info(visit, participants=everyone)),
        )
