"""Driving the real websocket stack in tests, and checking what it sends.

`Socket` wraps Channels' `WebsocketCommunicator` around `config.asgi.application`, so that
the Origin check, the session/auth middleware and the URL router all run as in
production. Every message the server sends is checked with `schemas.parse_outbound`.

Services announce changes with `transaction.on_commit`, so websocket tests use
`pytest.mark.django_db(transaction=True)`; the ORM is only touched through `db(...)`.
"""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client

from carecall.accounts.models import User
from carecall.calls import services
from carecall.calls.access import GUEST_SESSION_KEY, token_hash
from carecall.calls.models import Participant, ParticipantKind, Visit
from carecall.calls.routing import ws_reverse
from carecall.calls.schemas import parse_outbound
from carecall.orgs.models import Clinic
from config.asgi import application


def _channels_websocket_communicator() -> Any:
    """Channels' own `WebsocketCommunicator`.

    `channels.testing/__init__` also imports the live-server test case, which needs daphne
    (not one of our dependencies: we serve with uvicorn). Without daphne, load the package's
    modules without that `__init__`; the communicator itself is unchanged.
    """
    try:
        from channels.testing import WebsocketCommunicator as communicator
    except ModuleNotFoundError as missing:
        if missing.name != "daphne":
            raise
        import channels

        spec = importlib.machinery.ModuleSpec("channels.testing", None, is_package=True)
        package = importlib.util.module_from_spec(spec)
        package.__path__ = [f"{channels.__path__[0]}/testing"]
        sys.modules["channels.testing"] = package
        from channels.testing.application import ApplicationCommunicator
        from channels.testing.http import HttpCommunicator
        from channels.testing.websocket import WebsocketCommunicator as communicator

        # What `from channels.testing import ...` offers, minus the daphne-based live server.
        package.ApplicationCommunicator = ApplicationCommunicator  # type: ignore[attr-defined]
        package.HttpCommunicator = HttpCommunicator  # type: ignore[attr-defined]
        package.WebsocketCommunicator = communicator  # type: ignore[attr-defined]
    return communicator


WebsocketCommunicator = _channels_websocket_communicator()

ORIGIN = b"http://testserver"
TIMEOUT = 2.0
P = ParamSpec("P")
R = TypeVar("R")


def db(func: Callable[P, R]) -> Callable[P, Any]:
    """`await db(f)(...)`: run ORM/service code from an async test."""
    return database_sync_to_async(func)


# ---------------------------------------------------------------- paths


def staff_path(visit_id: object) -> str:
    return ws_reverse("ws-staff", visit_id)


def patient_path(token: str) -> str:
    return ws_reverse("ws-patient", token)


def guest_path(token: str) -> str:
    return ws_reverse("ws-guest", token)


def waiting_path(clinic_id: int) -> str:
    return ws_reverse("ws-waiting-area", clinic_id)


# ---------------------------------------------------------------- sessions and scenarios (sync)


def session_cookie(user: User | None) -> str | None:
    """The session id of a browser signed in as `user` (None: not signed in)."""
    if user is None:
        return None
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def enter(clinic: Clinic, first: str = "Pat", last: str = "Smith") -> tuple[Visit, str]:
    """A patient enters the clinic's waiting area. Returns (visit, patient link token)."""
    return services.visit_create(
        clinic=clinic, first_name=first, last_name=last, phone="", accepted_terms=True
    )


def join(user: User, visit: Visit) -> str:
    """A clinic member joins the visit's call (the waiting area's Join). Returns their id."""
    return str(services.visit_join(actor=user, visit=Visit.objects.get(pk=visit.pk)).pk)


def patient_id(visit: Visit) -> str:
    return str(Participant.objects.get(visit=visit, kind=ParticipantKind.PATIENT).pk)


def fresh_visit(visit: Visit) -> Visit:
    return Visit.objects.get(pk=visit.pk)


def participant(participant_id: str) -> Participant:
    return Participant.objects.get(pk=participant_id)


def invite_guest(user: User, visit: Visit) -> tuple[str, str]:
    """A guest link made by a clinician in the call. Returns (guest id, raw token)."""
    guest, url = services.guest_invite_create(
        actor=user, visit=Visit.objects.get(pk=visit.pk), base_url="http://testserver"
    )
    return str(guest.pk), url.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class ClaimedGuest:
    id: str
    token: str
    cookie: str  # the session of the browser that claimed the link


def claim_guest(token: str, name: str = "Gina Carer") -> ClaimedGuest:
    """A guest opens their link and enters their name, through the real page."""
    client = Client()
    response = client.post(f"/j/{token}/", {"display_name": name})
    assert response.status_code == 302, response.status_code
    guest = Participant.objects.get(token_hash=token_hash(token))
    assert client.session[GUEST_SESSION_KEY] == [str(guest.pk)]
    return ClaimedGuest(
        id=str(guest.pk), token=token, cookie=client.cookies[settings.SESSION_COOKIE_NAME].value
    )


# ---------------------------------------------------------------- the socket


class Socket:
    """One browser's websocket through the whole ASGI application."""

    def __init__(
        self, path: str, *, cookie: str | None = None, origin: bytes | None = ORIGIN
    ) -> None:
        headers: list[tuple[bytes, bytes]] = []
        if origin is not None:
            headers.append((b"origin", origin))
        if cookie is not None:
            headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
        self.path = path
        self.communicator = WebsocketCommunicator(application, path, headers=headers)

    @classmethod
    async def as_user(cls, user: User | None, path: str) -> Socket:
        return cls(path, cookie=await db(session_cookie)(user))

    async def connect(self) -> tuple[bool, Any]:
        connected, detail = await self.communicator.connect(timeout=TIMEOUT)
        return connected, detail

    async def open(self) -> dict[str, Any]:
        """Connect and return the first message (welcome / waiting_snapshot)."""
        connected, detail = await self.connect()
        assert connected, f"{self.path}: handshake refused ({detail})"
        return await self.receive()

    async def refused(self) -> tuple[int, str]:
        """Connect, expecting the accept-then-close refusal; returns (code, reason)."""
        connected, detail = await self.connect()
        assert connected, f"{self.path}: handshake refused outright ({detail})"
        return await self.closed()

    async def receive_raw(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        output: dict[str, Any] = await self.communicator.receive_output(timeout)
        return output

    async def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next message; it must be a text frame matching its declared schema."""
        output = await self.receive_raw(timeout)
        assert output["type"] == "websocket.send", f"expected a message, got {output}"
        data: dict[str, Any] = json.loads(output["text"])
        parse_outbound(data)  # raises SchemaError if the server broke its own schema
        return data

    async def expect(self, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        message = await self.receive(timeout)
        assert message["type"] == kind, f"expected {kind}, got {message}"
        return message

    async def until(self, kind: str, *, limit: int = 10) -> dict[str, Any]:
        """Skip (but still check) other messages until one of type `kind` arrives."""
        seen = []
        for _ in range(limit):
            message = await self.receive()
            if message["type"] == kind:
                return message
            seen.append(message["type"])
        raise AssertionError(f"no {kind} among {seen}")

    async def closed(self, timeout: float = TIMEOUT) -> tuple[int, str]:
        """The server closes the socket next; returns (code, reason)."""
        output = await self.receive_raw(timeout)
        assert output["type"] == "websocket.close", f"expected a close, got {output}"
        return output.get("code", 1000), output.get("reason", "")

    async def until_closed(self, timeout: float = TIMEOUT) -> tuple[int, str]:
        """Skip (but still check) messages until the server closes, within `timeout` seconds
        in all; returns (code, reason)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"{self.path}: not closed within {timeout} s"
            output = await self.receive_raw(left)
            if output["type"] == "websocket.close":
                return output.get("code", 1000), output.get("reason", "")
            parse_outbound(json.loads(output["text"]))

    async def silent(self, timeout: float = 0.1) -> bool:
        """Nothing more arrives (within `timeout`)."""
        return bool(await self.communicator.receive_nothing(timeout))

    async def pending(self, timeout: float = 0.3) -> list[dict[str, Any]]:
        """Everything that arrives within `timeout`, unvalidated (to show stray messages)."""
        found = []
        while not await self.communicator.receive_nothing(timeout):
            found.append(await self.receive_raw())
        return found

    async def send(self, data: dict[str, Any]) -> None:
        await self.communicator.send_json_to(data)

    async def send_text(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def send_bytes(self, data: bytes) -> None:
        await self.communicator.send_to(bytes_data=data)

    async def close(self) -> None:
        """Disconnect (the browser goes away) and let the consumer's disconnect() run."""
        try:
            await self.communicator.disconnect(timeout=TIMEOUT)
        except (Exception, asyncio.CancelledError):
            # A consumer that crashed, or that the communicator cancelled after a receive timed
            # out: the test has already failed on that. Teardown must go on (or pytest stops
            # tearing down and the next test inherits this one's database).
            self.communicator.stop(exceptions=False)


class Sockets:
    """Closes every socket a test opened, even when the test fails."""

    def __init__(self) -> None:
        self.all: list[Socket] = []

    def add(self, socket: Socket) -> Socket:
        self.all.append(socket)
        return socket

    async def user(self, user: User | None, path: str) -> Socket:
        return self.add(await Socket.as_user(user, path))

    def new(self, path: str, *, cookie: str | None = None, origin: bytes | None = ORIGIN) -> Socket:
        return self.add(Socket(path, cookie=cookie, origin=origin))

    async def close_all(self) -> None:
        for socket in reversed(self.all):
            await socket.close()
        self.all.clear()


# ---------------------------------------------------------------- a call in progress


@dataclass
class Call:
    """A Harbour GP visit in call: its patient and one clinician connected, perhaps a guest."""

    visit: Visit
    token: str
    patient: Socket
    patient_id: str
    clinician: Socket
    clinician_id: str
    clinician_user: User
    guest: Socket | None = None
    guest_id: str | None = None
    guest_cookie: str | None = None
    welcomes: dict[str, dict[str, Any]] = field(default_factory=dict)  # by kind

    def socket(self, kind: str) -> Socket:
        found = {"patient": self.patient, "clinician": self.clinician, "guest": self.guest}[kind]
        assert found is not None, f"no {kind} in this call"
        return found

    def id(self, kind: str) -> str:
        found = {"patient": self.patient_id, "clinician": self.clinician_id, "guest": self.guest_id}
        value = found[kind]
        assert value is not None, f"no {kind} in this call"
        return value

    def everyone(self) -> list[Socket]:
        return [s for s in (self.patient, self.clinician, self.guest) if s is not None]

    def others(self, kind: str) -> list[Socket]:
        return [s for s in self.everyone() if s is not self.socket(kind)]


async def start_call(
    sockets: Sockets, clinic: Clinic, clinician: User, *, with_guest: bool = False
) -> Call:
    """The patient enters and connects, the clinician joins and connects (and a guest)."""
    visit, token = await db(enter)(clinic)
    pid = await db(patient_id)(visit)
    patient = sockets.new(patient_path(token))
    welcomes = {"patient": await patient.open()}
    cid = await db(join)(clinician, visit)
    await patient.expect("participant_joined")
    await patient.expect("visit_status")
    staff = await sockets.user(clinician, staff_path(visit.pk))
    welcomes["clinician"] = await staff.open()
    await patient.expect("participant_connection")
    call = Call(
        visit=visit,
        token=token,
        patient=patient,
        patient_id=pid,
        clinician=staff,
        clinician_id=cid,
        clinician_user=clinician,
        welcomes=welcomes,
    )
    if with_guest:
        _gid, guest_token = await db(invite_guest)(clinician, visit)
        claimed = await db(claim_guest)(guest_token)
        for socket in (patient, staff):
            await socket.expect("participant_joined")
        call.guest = sockets.new(guest_path(guest_token), cookie=claimed.cookie)
        call.guest_id = claimed.id
        call.guest_cookie = claimed.cookie
        welcomes["guest"] = await call.guest.open()
        for socket in (patient, staff):
            await socket.expect("participant_connection")
    assert all(w["type"] == "welcome" for w in welcomes.values())
    return call
