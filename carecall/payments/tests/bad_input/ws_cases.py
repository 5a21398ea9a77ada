"""The bad-input catalogue for websockets, as data: frames sent on the call's socket (as the
patient or the clinician) and on the waiting area's (as the clinician), and handshakes to
paths that name nothing. Each expects the socket closed with a code and a reason, or an
`error` message with a reason; nothing in the database changes.

In a frame, OTHER stands for the id of the other person in the call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

HUGE = "9" * 4300


@dataclass(frozen=True)
class WsCase:
    id: str
    socket: str  # "patient" or "clinician" (the call), "waiting" (the clinician's waiting area)
    frame: str | bytes | None  # None: only the handshake, to `path`
    says: str
    close: int | None = 4400  # None: an `error` message, the socket stays open
    path: str = ""


def text(value: Any) -> str:
    return json.dumps(value)


def signal(**fields: Any) -> str:
    return text({"type": "signal", "to": "OTHER", **fields})


OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host"}


def both(id: str, frame: str | bytes, says: str, close: int | None = 4400) -> list[WsCase]:
    return [WsCase(f"{who}-{id}", who, frame, says, close) for who in ("patient", "clinician")]


WS_CASES: list[WsCase] = [
    *both("not-json", "{nope", "not JSON"),
    *both("array", "[]", "must be a JSON object"),
    *both("string", '"ping"', "must be a JSON object"),
    *both("null", "null", "must be a JSON object"),
    *both("unknown-type", text({"type": "dance"}), "unknown message type"),
    *both("no-type", text({}), "unknown message type"),
    *both("type-number", text({"type": 5}), "unknown message type"),
    *both("type-with-nul", text({"type": "ping\u0000"}), "unknown message type"),
    *both("ping-extra-field", text({"type": "ping", "x": 1}), "unknown fields: x"),
    *both(
        "media-text-boolean",
        text({"type": "media", "audio": "yes", "video": True}),
        "true or false",
    ),
    *both(
        "media-number-boolean", text({"type": "media", "audio": 1, "video": True}), "true or false"
    ),
    *both("media-missing-field", text({"type": "media", "audio": True}), "needs the field video"),
    *both(
        "4300-digit-number",
        '{"type": "media", "audio": ' + HUGE + ', "video": true}',
        "true or false",
    ),
    *both("deep-nesting", "[" * 20_000 + "]" * 20_000, "not JSON"),
    *both("oversize", text({"type": "ping", "pad": "x" * 70_000}), "message too big", 4413),
    *both("binary-not-text", b"\xff\xfe\x00", "not JSON"),
    *both("binary-oversize", b'{"type": "ping"}' + b" " * 70_000, "message too big", 4413),
    *both(
        "binary-invalid-utf8-inside-text",
        signal(candidate={"candidate": "candidate:1 1 udp 1 192.0.2.1 1 typ host\xff"})
        .encode()
        .replace(b"\\u00ff", b"\xff"),
        "not JSON",
    ),
    *both("signal-no-to", text({"type": "signal", "candidate": CANDIDATE}), "needs the field to"),
    *both(
        "signal-to-not-an-id",
        text({"type": "signal", "to": "bob", "candidate": CANDIDATE}),
        "participant id",
    ),
    *both(
        "signal-to-number",
        text({"type": "signal", "to": 7, "candidate": CANDIDATE}),
        "must be text",
    ),
    *both("signal-neither", signal(), "exactly one of description or candidate"),
    *both("signal-both", signal(description=OFFER, candidate=CANDIDATE), "exactly one"),
    *both(
        "signal-unknown-sdp-type",
        signal(description={"type": "pranswer", "sdp": "v=0"}),
        "must be one of",
    ),
    *both("signal-sdp-list", signal(description={"type": "offer", "sdp": ["v=0"]}), "must be text"),
    *both(
        "signal-sdp-too-long",
        signal(description={"type": "offer", "sdp": "a" * 61_000}),
        "too long",
    ),
    *both(
        "signal-candidate-missing", signal(candidate={"sdpMid": "0"}), "needs the field candidate"
    ),
    *both(
        "signal-m-line-huge",
        signal(candidate={**CANDIDATE, "sdpMLineIndex": 10**30}),
        "sdpMLineIndex",
    ),
    *both(
        "signal-m-line-negative",
        signal(candidate={**CANDIDATE, "sdpMLineIndex": -1}),
        "sdpMLineIndex",
    ),
    *both(
        "signal-m-line-fraction",
        signal(candidate={**CANDIDATE, "sdpMLineIndex": 1.5}),
        "whole number",
    ),
    *both(
        "signal-candidate-nul",
        signal(candidate={"candidate": "candidate:1\u0000"}),
        "control characters",
    ),
    *both(
        "signal-sdp-nul",
        signal(description={"type": "offer", "sdp": "v=0\r\n\u0000"}),
        "control characters",
    ),
    *both(
        "signal-mid-bidi",
        signal(candidate={**CANDIDATE, "sdpMid": "0\u202e"}),
        "control characters",
    ),
    WsCase("patient-end", "patient", text({"type": "end"}), "only clinicians", 4403),
    WsCase("patient-hold", "patient", text({"type": "hold"}), "only clinicians", 4403),
    WsCase(
        "patient-invite-guest", "patient", text({"type": "invite_guest"}), "only clinicians", 4403
    ),
    WsCase(
        "clinician-signal-stranger",
        "clinician",
        text(
            {"type": "signal", "to": "00000000-0000-0000-0000-000000000000", "candidate": CANDIDATE}
        ),
        "not in this call",
        None,
    ),
    WsCase("waiting-not-json", "waiting", "{nope", "not JSON"),
    WsCase("waiting-array", "waiting", "[1, 2]", "must be a JSON object"),
    WsCase(
        "waiting-call-message",
        "waiting",
        text({"type": "media", "audio": True, "video": True}),
        "unknown message type",
    ),
    WsCase("waiting-signal", "waiting", signal(candidate=CANDIDATE), "unknown message type"),
    WsCase(
        "waiting-ping-extra-field", "waiting", text({"type": "ping", "at": 1}), "unknown fields"
    ),
    WsCase("waiting-oversize", "waiting", "x" * 70_000, "message too big", 4413),
    WsCase("waiting-binary", "waiting", b"\x00\x01", "not JSON"),
    WsCase("waiting-deep-nesting", "waiting", '{"a":' * 5000 + "1" + "}" * 5000, "not JSON"),
    WsCase(
        "path-waiting-area-huge-clinic",
        "waiting",
        None,
        "no such websocket",
        4404,
        path="/ws/clinics/" + "9" * 30 + "/waiting-area/",
    ),
    WsCase("path-unknown", "waiting", None, "no such websocket", 4404, path="/ws/admin/"),
    WsCase(
        "path-staff-not-a-uuid",
        "clinician",
        None,
        "no such websocket",
        4404,
        path="/ws/calls/1-or-1/",
    ),
    WsCase(
        "path-patient-bad-token",
        "patient",
        None,
        "no such call",
        4404,
        path="/ws/visits/not-a-real-token/",
    ),
    WsCase(
        "path-guest-bad-token",
        "patient",
        None,
        "no such call",
        4404,
        path="/ws/guests/not-a-real-token/",
    ),
]
