"""Every websocket message type has a declared schema, and the schemas refuse what they should.

Inbound (browser -> server) messages are parsed strictly; outbound (server -> browser) messages
are built from their dataclasses and must parse back with `parse_outbound`.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from carecall.calls import schemas
from carecall.calls.schemas import (
    CALL_INBOUND,
    OUTBOUND,
    WAITING_AREA_INBOUND,
    AppInfo,
    EndedOut,
    ErrorOut,
    GuestInviteOut,
    MediaIn,
    Message,
    ParticipantConnectionOut,
    ParticipantInfo,
    ParticipantJoinedOut,
    ParticipantLeftOut,
    ParticipantMediaOut,
    PongOut,
    SchemaError,
    SignalIn,
    SignalOut,
    VisitChangedOut,
    VisitInfo,
    VisitRemovedOut,
    VisitStatusOut,
    WaitingSnapshotOut,
    WaitingVisit,
    WelcomeOut,
    parse_inbound,
    parse_outbound,
    to_wire,
)

INBOUND_TYPES = {"signal", "media", "hold", "resume", "end", "leave", "invite_guest", "ping"}
OUTBOUND_TYPES = {
    "welcome",
    "participant_joined",
    "participant_left",
    "participant_connection",
    "participant_media",
    "signal",
    "visit_status",
    "ended",
    "guest_invite",
    "pong",
    "error",
    "waiting_snapshot",
    "visit_changed",
    "visit_removed",
}
PID = str(uuid.uuid4())
OFFER = {"type": "offer", "sdp": "v=0\r\n"}
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host"}


def test_every_inbound_call_message_type_has_a_declared_schema() -> None:
    assert set(CALL_INBOUND) == INBOUND_TYPES
    for kind, cls in CALL_INBOUND.items():
        assert cls.type == kind


def test_the_waiting_area_accepts_only_ping() -> None:
    assert set(WAITING_AREA_INBOUND) == {"ping"}


def test_every_outbound_message_type_has_a_declared_schema() -> None:
    # In-call apps may declare more (schemas.register_outbound); the call's own are all here.
    assert set(OUTBOUND) >= OUTBOUND_TYPES
    for kind, cls in OUTBOUND.items():
        assert cls.type == kind
    for kind in OUTBOUND_TYPES:
        assert OUTBOUND[kind].__module__ == "carecall.calls.schemas"


# ---------------------------------------------------------------- inbound: accepted


VALID_INBOUND: list[tuple[dict[str, Any], type[Message]]] = [
    ({"type": "signal", "to": PID, "description": OFFER}, SignalIn),
    ({"type": "signal", "to": PID, "description": {"type": "answer", "sdp": ""}}, SignalIn),
    ({"type": "signal", "to": PID, "candidate": CANDIDATE}, SignalIn),
    (
        {
            "type": "signal",
            "to": PID,
            "candidate": {
                "candidate": "",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
                "usernameFragment": None,
            },
        },
        SignalIn,
    ),
    ({"type": "media", "audio": False, "video": True}, MediaIn),
    ({"type": "hold"}, schemas.HoldIn),
    ({"type": "resume"}, schemas.ResumeIn),
    ({"type": "end"}, schemas.EndIn),
    ({"type": "leave"}, schemas.LeaveIn),
    ({"type": "invite_guest"}, schemas.InviteGuestIn),
    ({"type": "ping"}, schemas.PingIn),
]


@pytest.mark.parametrize(
    ("data", "cls"),
    VALID_INBOUND,
    ids=[f"{d['type']}-{i}" for i, (d, _) in enumerate(VALID_INBOUND)],
)
def test_a_valid_inbound_message_parses_into_its_declared_type(
    data: dict[str, Any], cls: type[Message]
) -> None:
    message = parse_inbound(data, CALL_INBOUND)
    assert type(message) is cls


def test_a_parsed_signal_keeps_its_fields() -> None:
    message = parse_inbound({"type": "signal", "to": PID, "description": OFFER}, CALL_INBOUND)
    assert isinstance(message, SignalIn)
    assert message.to == PID
    assert message.description == schemas.SessionDescription(type="offer", sdp="v=0\r\n")
    assert message.candidate is None


def test_a_parsed_media_message_keeps_its_switches() -> None:
    message = parse_inbound({"type": "media", "audio": False, "video": True}, CALL_INBOUND)
    assert message == MediaIn(audio=False, video=True)


# ---------------------------------------------------------------- inbound: refused, with a reason


INVALID_INBOUND: list[tuple[Any, str]] = [
    ([], "a message must be a JSON object"),
    ("ping", "a message must be a JSON object"),
    ({}, "unknown message type None"),
    ({"type": "welcome"}, "unknown message type 'welcome'"),
    ({"type": 7}, "unknown message type 7"),
    ({"type": "ping", "extra": 1}, "ping has unknown fields: extra"),
    ({"type": "hold", "why": "x"}, "hold has unknown fields: why"),
    ({"type": "resume", "a": 1}, "resume has unknown fields: a"),
    ({"type": "end", "for": "all"}, "end has unknown fields: for"),
    ({"type": "leave", "b": 2}, "leave has unknown fields: b"),
    ({"type": "invite_guest", "email": "x@y"}, "invite_guest has unknown fields: email"),
    ({"type": "media", "audio": True}, "media needs the field video"),
    ({"type": "media", "audio": 1, "video": True}, "media.audio must be true or false"),
    ({"type": "media", "audio": True, "video": "yes"}, "media.video must be true or false"),
    ({"type": "signal", "description": OFFER}, "signal needs the field to"),
    ({"type": "signal", "to": "bob", "description": OFFER}, "to must be a participant id"),
    ({"type": "signal", "to": 5, "description": OFFER}, "signal.to must be text"),
    ({"type": "signal", "to": PID}, "signal needs exactly one of description or candidate"),
    (
        {"type": "signal", "to": PID, "description": OFFER, "candidate": CANDIDATE},
        "signal needs exactly one of description or candidate",
    ),
]


@pytest.mark.parametrize(("data", "reason"), INVALID_INBOUND, ids=[r for _, r in INVALID_INBOUND])
def test_an_invalid_inbound_message_is_refused_with_a_reason(data: Any, reason: str) -> None:
    with pytest.raises(SchemaError) as refused:
        parse_inbound(data, CALL_INBOUND)
    assert str(refused.value) == reason


# A signal's description and candidate are optional (`X | None`): a bad one must be refused with
# what is wrong with it, not with "must be null" (the reason the browser's console shows).
BAD_SIGNAL_PARTS: list[tuple[dict[str, Any], str]] = [
    ({"description": {"type": "pranswer", "sdp": ""}}, "signal.description.type must be one of"),
    ({"description": {"type": "offer"}}, "signal.description needs the field sdp"),
    ({"description": {"type": "offer", "sdp": "x" * 60_001}}, "description.sdp is too long"),
    ({"candidate": {"sdpMid": "0"}}, "signal.candidate needs the field candidate"),
    (
        {"candidate": {"candidate": "", "sdpMLineIndex": "0"}},
        "signal.candidate.sdpMLineIndex must be a whole number",
    ),
]


def test_a_bad_signal_part_is_refused_saying_what_is_wrong_with_it() -> None:
    wrong = []
    for part, reason in BAD_SIGNAL_PARTS:
        with pytest.raises(SchemaError) as refused:
            parse_inbound({"type": "signal", "to": PID, **part}, CALL_INBOUND)
        if not str(refused.value).startswith(reason):
            wrong.append(f"{reason!r} expected, got {str(refused.value)!r}")
    assert not wrong, "\n".join(wrong)


def test_the_waiting_area_refuses_call_messages() -> None:
    with pytest.raises(SchemaError, match="unknown message type 'hold'"):
        parse_inbound({"type": "hold"}, WAITING_AREA_INBOUND)
    assert isinstance(parse_inbound({"type": "ping"}, WAITING_AREA_INBOUND), schemas.PingIn)


def test_an_sdp_of_exactly_the_limit_is_accepted() -> None:
    data = {"type": "signal", "to": PID, "description": {"type": "offer", "sdp": "x" * 60_000}}
    assert isinstance(parse_inbound(data, CALL_INBOUND), SignalIn)


# ---------------------------------------------------------------- outbound: built, sent, checked

ME = ParticipantInfo(
    id=PID, name="Chris Lee", kind="clinician", audio=True, video=False, connected=True
)
PATIENT = ParticipantInfo(
    id=str(uuid.uuid4()), name="Pat Smith", kind="patient", audio=True, video=True, connected=False
)
WAITING = WaitingVisit(
    id=str(uuid.uuid4()),
    name="Pat Smith",
    status="in_call",
    status_label="Being seen",
    entered_at="2025-01-01T09:00:00+00:00",
    status_changed_at="2025-01-01T09:05:00+00:00",
    with_names=["Chris Lee"],
    connected=True,
    join_url="/clinics/1/visits/x/join/",
)

EVERY_OUTBOUND: list[Message] = [
    WelcomeOut(
        you=ME,
        visit=VisitInfo(
            id=str(uuid.uuid4()),
            status="in_call",
            clinic="Harbour GP",
            waiting_message="Please wait.",
            entered_at="2025-01-01T09:00:00+00:00",
        ),
        participants=[PATIENT],
        ice_servers=[{"urls": ["stun:stun.example.test:3478"]}],
        ice_transport_policy="all",
        apps=[AppInfo(key="notes", name="Notes", icon="N")],
    ),
    ParticipantJoinedOut(participant=PATIENT),
    ParticipantLeftOut(id=PID),
    ParticipantConnectionOut(id=PID, connected=False),
    ParticipantMediaOut(id=PID, audio=False, video=True),
    SignalOut(sender=PID, description=OFFER),
    SignalOut(sender=PID, candidate=CANDIDATE),
    VisitStatusOut(status="in_call", participants=[ME, PATIENT]),
    VisitStatusOut(status="done"),
    EndedOut(by="Chris Lee"),
    GuestInviteOut(url="http://testserver/j/abc/"),
    PongOut(),
    ErrorOut(code="not_in_call", message="That person is not in this call with you."),
    WaitingSnapshotOut(visits=[WAITING]),
    VisitChangedOut(visit=WAITING),
    VisitRemovedOut(id=WAITING.id),
]


def test_the_outbound_examples_cover_every_outbound_type() -> None:
    assert {m.type for m in EVERY_OUTBOUND} == OUTBOUND_TYPES


@pytest.mark.parametrize(
    "message", EVERY_OUTBOUND, ids=[f"{m.type}-{i}" for i, m in enumerate(EVERY_OUTBOUND)]
)
def test_every_outbound_message_parses_back_to_what_was_sent(message: Message) -> None:
    wire = to_wire(message)
    assert wire["type"] == message.type
    assert parse_outbound(wire) == message


def test_an_outbound_signal_names_its_sender_from_and_omits_the_missing_part() -> None:
    wire = to_wire(SignalOut(sender=PID, candidate=CANDIDATE))
    assert wire == {"type": "signal", "from": PID, "candidate": CANDIDATE}


def test_a_visit_status_without_participants_sends_an_empty_list() -> None:
    assert to_wire(VisitStatusOut(status="on_hold")) == {
        "type": "visit_status",
        "status": "on_hold",
        "participants": [],
    }


BROKEN_OUTBOUND: list[tuple[dict[str, Any], str]] = [
    ({"type": "welcome"}, "welcome needs the field you"),
    ({"type": "pong", "extra": True}, "pong has unknown fields: extra"),
    ({"type": "visit_status", "status": "lost"}, "visit_status.status must be one of"),
    ({"type": "participant_left"}, "participant_left needs the field id"),
    ({"type": "error", "code": "x"}, "error needs the field message"),
    ({"type": "signal", "to": PID}, "signal has unknown fields: to"),
    (
        {
            "type": "visit_changed",
            "visit": {**to_wire(VisitChangedOut(visit=WAITING))["visit"], "status": "done"},
        },
        "visit_changed.visit.status must be one of",
    ),
    ({"type": "waiting_snapshot", "visits": {}}, "waiting_snapshot.visits must be a list"),
    ({"type": "ping"}, "unknown message type 'ping'"),
]


@pytest.mark.parametrize(("data", "reason"), BROKEN_OUTBOUND, ids=[r for _, r in BROKEN_OUTBOUND])
def test_parse_outbound_catches_a_message_that_breaks_its_schema(
    data: dict[str, Any], reason: str
) -> None:
    with pytest.raises(SchemaError, match=f"^{re.escape(reason)}"):
        parse_outbound(data)
