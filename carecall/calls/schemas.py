"""Declared schemas for every websocket message, one dataclass per type.

Inbound messages are parsed strictly: unknown types, unknown fields, missing fields and wrong
types are refused with a reason. Outbound messages are built from these dataclasses only, so what
the browser receives is what is declared here (each has a test).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

from carecall.core.text import text_has_control


class SchemaError(ValueError):
    """A message that does not match its declared schema; the text says why."""


class Message:
    type: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        data = {"type": self.type}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit_none"):
                continue
            data[f.metadata.get("wire", f.name)] = value
        return data


@functools.cache
def _shape(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    # typing's get_origin/get_args are slow next to a dict lookup, and every message asks.
    return get_origin(annotation), get_args(annotation)


def _check(name: str, value: Any, annotation: Any) -> Any:
    if annotation is str:  # the commonest field first
        if not isinstance(value, str):
            raise SchemaError(f"{name} must be text")
        return value
    if annotation is Any:
        return value
    origin, args = _shape(annotation)
    if origin in (Union, types.UnionType):
        errors = []
        options = args
        if value is not None:
            # "X | None" given a value: the reason worth reporting is X's, not "must be null".
            options = tuple(o for o in options if o is not type(None)) or options
        for option in options:
            try:
                return _check(name, value, option)
            except SchemaError as error:
                errors.append(str(error))
        raise SchemaError(errors[-1])
    if annotation is type(None):
        if value is not None:
            raise SchemaError(f"{name} must be null")
        return value
    if origin is Literal:
        if value not in args:
            allowed = ", ".join(repr(a) for a in args)
            raise SchemaError(f"{name} must be one of {allowed}")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise SchemaError(f"{name} must be true or false")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaError(f"{name} must be a whole number")
        return value
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise SchemaError(f"{name} must be an object")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise SchemaError(f"{name} must be a list")
        (item,) = args or (Any,)
        return [_check(f"{name}[{i}]", v, item) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(annotation):
        return _from_dict(annotation, value, name)
    raise SchemaError(f"{name} has an undeclared type")  # pragma: no cover


@functools.cache
def _declared(cls: Any) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """A schema's type hints and wire fields, worked out once per class (resolving the hints
    on every message was a measurable part of relaying a signal)."""
    hints = get_type_hints(cls)
    return hints, {f.metadata.get("wire", f.name): f for f in dataclasses.fields(cls)}


def _from_dict(cls: Any, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise SchemaError(f"{where} must be an object")
    hints, fields = _declared(cls)
    unknown = set(data) - set(fields) - {"type"}
    if unknown:
        raise SchemaError(f"{where} has unknown fields: {', '.join(sorted(unknown))}")
    values = {}
    for wire, f in fields.items():
        if wire not in data:
            has_default = (
                f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            )
            if has_default:
                continue
            raise SchemaError(f"{where} needs the field {wire}")
        values[f.name] = _check(f"{where}.{wire}", data[wire], hints[f.name])
    instance = cls(**values)
    validate = getattr(instance, "validate", None)
    if validate is not None:
        validate()
    return instance


def _uuid(name: str, value: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise SchemaError(f"{name} must be a participant id") from None


# ---------------------------------------------------------------- parts shared by messages


@dataclass(frozen=True)
class SessionDescription:
    type: Literal["offer", "answer"]
    sdp: str

    def validate(self) -> None:
        if len(self.sdp) > 60_000:
            raise SchemaError("description.sdp is too long")
        if text_has_control(self.sdp, multiline=True):  # SDP lines end in CRLF; nothing else
            raise SchemaError("description.sdp has control characters")


@dataclass(frozen=True)
class IceCandidate:
    candidate: str
    sdpMid: str | None = None
    sdpMLineIndex: int | None = None
    usernameFragment: str | None = None

    def validate(self) -> None:
        # Relayed to the other browser as sent: an m-line index is an unsigned short there.
        if self.sdpMLineIndex is not None and not 0 <= self.sdpMLineIndex <= 65535:
            raise SchemaError("candidate.sdpMLineIndex must be from 0 to 65535")
        for name in ("candidate", "sdpMid", "usernameFragment"):
            value = getattr(self, name)
            if value is not None and text_has_control(value):
                raise SchemaError(f"candidate.{name} has control characters")


# ---------------------------------------------------------------- browser -> server (call)


@dataclass(frozen=True)
class SignalIn(Message):
    type: ClassVar[str] = "signal"
    to: str
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None

    def validate(self) -> None:
        _uuid("to", self.to)
        if (self.description is None) == (self.candidate is None):
            raise SchemaError("signal needs exactly one of description or candidate")


@dataclass(frozen=True)
class MediaIn(Message):
    type: ClassVar[str] = "media"
    audio: bool
    video: bool


@dataclass(frozen=True)
class HoldIn(Message):
    type: ClassVar[str] = "hold"


@dataclass(frozen=True)
class ResumeIn(Message):
    type: ClassVar[str] = "resume"


@dataclass(frozen=True)
class EndIn(Message):
    type: ClassVar[str] = "end"


@dataclass(frozen=True)
class LeaveIn(Message):
    type: ClassVar[str] = "leave"


@dataclass(frozen=True)
class InviteGuestIn(Message):
    type: ClassVar[str] = "invite_guest"


@dataclass(frozen=True)
class PingIn(Message):
    type: ClassVar[str] = "ping"


def _by_type(*classes: type[Message]) -> dict[str, type[Message]]:
    return {cls.type: cls for cls in classes}


CALL_INBOUND = _by_type(SignalIn, MediaIn, HoldIn, ResumeIn, EndIn, LeaveIn, InviteGuestIn, PingIn)
WAITING_AREA_INBOUND = _by_type(PingIn)


def parse_inbound(data: Any, schemas: dict[str, type[Message]]) -> Message:
    if not isinstance(data, dict):
        raise SchemaError("a message must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in schemas:
        raise SchemaError(f"unknown message type {kind!r}")
    message: Message = _from_dict(schemas[kind], data, kind)
    return message


# ---------------------------------------------------------------- server -> browser (call)


@dataclass(frozen=True)
class ParticipantInfo:
    id: str
    name: str
    kind: Literal["clinician", "patient", "guest"]
    audio: bool
    video: bool
    connected: bool
    # Joined but not connected yet (their page is still opening): not a lost connection.
    joining: bool = False


@dataclass(frozen=True)
class VisitInfo:
    id: str
    status: Literal["waiting", "in_call", "on_hold", "done"]
    clinic: str
    waiting_message: str
    entered_at: str
    # When a clinician first admitted the patient: the call timer counts from it, so a reload
    # does not restart it.
    admitted_at: str | None = None


@dataclass(frozen=True)
class AppInfo:
    key: str
    name: str
    icon: str


@dataclass(frozen=True)
class WelcomeOut(Message):
    type: ClassVar[str] = "welcome"
    you: ParticipantInfo
    visit: VisitInfo
    participants: list[ParticipantInfo]
    ice_servers: list[dict[str, Any]]
    ice_transport_policy: Literal["all", "relay"]
    apps: list[AppInfo]


@dataclass(frozen=True)
class ParticipantJoinedOut(Message):
    type: ClassVar[str] = "participant_joined"
    participant: ParticipantInfo


@dataclass(frozen=True)
class ParticipantLeftOut(Message):
    type: ClassVar[str] = "participant_left"
    id: str


@dataclass(frozen=True)
class ParticipantConnectionOut(Message):
    type: ClassVar[str] = "participant_connection"
    id: str
    connected: bool


@dataclass(frozen=True)
class ParticipantMediaOut(Message):
    type: ClassVar[str] = "participant_media"
    id: str
    audio: bool
    video: bool


@dataclass(frozen=True)
class SignalOut(Message):
    type: ClassVar[str] = "signal"
    sender: str = field(metadata={"wire": "from"})
    description: dict[str, Any] | None = field(default=None, metadata={"omit_none": True})
    candidate: dict[str, Any] | None = field(default=None, metadata={"omit_none": True})


@dataclass(frozen=True)
class VisitStatusOut(Message):
    """The visit moved; `participants` (for the patient) are the people to connect to."""

    type: ClassVar[str] = "visit_status"
    status: Literal["waiting", "in_call", "on_hold", "done"]
    participants: list[ParticipantInfo] = field(default_factory=list)


@dataclass(frozen=True)
class EndedOut(Message):
    type: ClassVar[str] = "ended"
    by: str


@dataclass(frozen=True)
class GuestInviteOut(Message):
    type: ClassVar[str] = "guest_invite"
    url: str


@dataclass(frozen=True)
class PongOut(Message):
    type: ClassVar[str] = "pong"


@dataclass(frozen=True)
class ErrorOut(Message):
    type: ClassVar[str] = "error"
    code: str
    message: str


# ---------------------------------------------------------------- server -> browser (waiting area)


@dataclass(frozen=True)
class WaitingVisit:
    id: str
    name: str
    status: Literal["waiting", "in_call", "on_hold"]
    status_label: str
    entered_at: str
    status_changed_at: str
    with_names: list[str]
    connected: bool
    join_url: str
    # The patient stepped out with Leave; their link brings them back until the visit ends.
    left: bool = False


@dataclass(frozen=True)
class WaitingSnapshotOut(Message):
    type: ClassVar[str] = "waiting_snapshot"
    visits: list[WaitingVisit]


@dataclass(frozen=True)
class VisitChangedOut(Message):
    type: ClassVar[str] = "visit_changed"
    visit: WaitingVisit


@dataclass(frozen=True)
class VisitRemovedOut(Message):
    type: ClassVar[str] = "visit_removed"
    id: str


OUTBOUND = _by_type(
    WelcomeOut,
    ParticipantJoinedOut,
    ParticipantLeftOut,
    ParticipantConnectionOut,
    ParticipantMediaOut,
    SignalOut,
    VisitStatusOut,
    EndedOut,
    GuestInviteOut,
    PongOut,
    ErrorOut,
    WaitingSnapshotOut,
    VisitChangedOut,
    VisitRemovedOut,
)


def register_outbound(cls: type[Message]) -> None:
    """In-call apps declare their own message types here (e.g. payments' `payment`)."""
    if cls.type in OUTBOUND and OUTBOUND[cls.type] is not cls:
        raise ValueError(f"message type {cls.type!r} is declared already")
    OUTBOUND[cls.type] = cls


def parse_outbound(data: Any) -> Message:
    """What a browser would check: does this server message match its declared schema?"""
    return parse_inbound(data, OUTBOUND)


def to_wire(message: Message) -> dict[str, Any]:
    """Outbound dataclass -> JSON-ready dict (nested dataclasses included)."""
    data = message.to_json()

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {k: plain(v) for k, v in dataclasses.asdict(value).items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return {k: plain(v) for k, v in data.items()}
