"""Websocket consumers: the waiting-area dashboard and each visit's call signalling.

Thin: authenticate on connect, enforce size / rate / schema, call a service, relay events.
Close codes: 4400 bad message, 4403 not allowed, 4404 unknown (also a path no route serves),
4409 call ended, 4413 message too big, 4429 too many messages or too many sockets open.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections import deque
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404

from carecall.calls import services
from carecall.calls.access import (
    GUEST_SESSION_KEY,
    guest_for_token,
    token_hash,
    visit_for_staff,
    visit_for_token,
)
from carecall.calls.events import (
    ACCESS_CHANGED,
    call_group,
    event_for,
    participant_group,
    user_group,
    waiting_group,
)
from carecall.calls.models import Participant, ParticipantKind, Visit, VisitStatus
from carecall.calls.presence import heartbeats
from carecall.calls.realtime import Event, cross_process, hub
from carecall.calls.roster import Roster
from carecall.calls.schemas import (
    CALL_INBOUND,
    WAITING_AREA_INBOUND,
    EndIn,
    ErrorOut,
    GuestInviteOut,
    HoldIn,
    InviteGuestIn,
    LeaveIn,
    MediaIn,
    Message,
    PingIn,
    PongOut,
    ResumeIn,
    SchemaError,
    SignalIn,
    SignalOut,
    WaitingSnapshotOut,
    WelcomeOut,
    parse_inbound,
    to_wire,
)
from carecall.calls.selectors import (
    participant_is_present,
    waiting_area_visits,
    waiting_visit_info,
)
from carecall.calls.socket_caps import CAP_CLOSE_CODE, socket_caps
from carecall.calls.socket_connect import (
    Opened,
    SocketLink,
    participant_connection_open,
    participant_connection_undo,
    participant_return_announce,
    welcome_for,
    welcome_rows,
)
from carecall.core.errors import ServiceError

# Which participant each link (SocketLink.key) is, as learnt from its sockets' connects: a link
# always leads to the same participant. Lets a socket over its cap be refused before it is
# counted. Forgotten wholesale past this many (a process up for weeks).
_participant_of_link: dict[tuple[object, ...], str] = {}
_LINKS_REMEMBERED = 100_000


class CallEnded(Exception):
    """The visit is over: every key to it is refused with 4409."""


class Refused(Exception):
    """The socket is refused with this close code and reason (accepted, then closed)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.capacity = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


log = logging.getLogger(__name__)


class GuardedJsonConsumer(AsyncWebsocketConsumer):
    """JSON messages with a size limit, a rate limit and declared schemas.

    Events reach it through `realtime.hub` (a `Member`), not through a channel layer channel of
    its own, and its receive loop makes no thread hop per message (Channels' dispatch closes old
    database connections in a thread before every handler; our database calls do that
    themselves, in `database_sync_to_async`)."""

    inbound: dict[str, type[Message]] = {}
    closed = False
    cap_key: tuple[object, ...] | None = None  # the place it holds in socket_caps

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        self.loop = asyncio.get_running_loop()
        self.joined: list[str] = []
        self.outbox: deque[Event] = deque()
        self.drainer: asyncio.Task[None] | None = None
        # Events wait until the first message (welcome, snapshot) is out: they are newer.
        self.holding = True
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            await self.leave_groups()
            if self.cap_key is not None:
                socket_caps.give_back(self.cap_key)
                self.cap_key = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        await getattr(self, get_handler_name(message))(message)

    # ------------------------------------------------------------ groups and delivery

    async def join_group(self, group: str) -> None:
        await hub.join(group, self)
        self.joined.append(group)

    async def leave_groups(self) -> None:
        joined, self.joined = self.joined, []
        for group in joined:
            await hub.leave(group, self)

    def deliver(self, event: Event) -> None:
        """realtime.Member: from any thread; the event is handled on this socket's loop, in
        the order it came."""
        try:
            on_my_loop = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            on_my_loop = False
        if on_my_loop:
            self._enqueue(event)
        else:
            self.loop.call_soon_threadsafe(self._enqueue, event)

    def _enqueue(self, event: Event) -> None:
        if self.closed:
            return
        self.outbox.append(event)
        if self.drainer is None and not self.holding:
            # A context of its own: one inherited from a service's worker thread would make
            # this socket's database calls look re-entrant to asgiref (it refuses them).
            self.drainer = self.loop.create_task(self._drain(), context=contextvars.Context())

    def release_events(self) -> None:
        """The first message is out: the events held back since go now, in order."""
        self.holding = False
        if self.outbox and self.drainer is None and not self.closed:
            self.drainer = self.loop.create_task(self._drain(), context=contextvars.Context())

    async def _drain(self) -> None:
        try:
            while self.outbox and not self.closed:
                event = self.outbox.popleft()
                try:
                    await self.on_event(event)
                except Exception:
                    log.exception("websocket: handling a live event failed")
        finally:
            self.drainer = None

    async def on_event(self, event: Event) -> None:
        if event.payload.get("type") == ACCESS_CHANGED:
            if not await self.still_allowed():
                await self.close(code=4403, reason="your access has changed")
            return
        await self.send(text_data=event.text)

    async def still_allowed(self) -> bool:
        """Asked when the person's access changed (a membership, their account)."""
        return True

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        # Group events can still arrive between our close and the disconnect; drop them.
        if not self.closed:
            self.closed = True
            await super().close(code=code, reason=reason)

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        if not self.closed:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def refuse(self, code: int, reason: str) -> None:
        """Accept-then-close so that the browser sees the reason (a refused handshake has none)."""
        await self.accept()
        await self.close(code=code, reason=reason)

    async def take_place(self, key: tuple[object, ...], limit: int) -> bool:
        """A place among the sockets one person may hold open; refused (4429) over the cap."""
        if not socket_caps.take(key, limit=limit):
            await self.refuse(CAP_CLOSE_CODE, "too many connections open")
            return False
        self.cap_key = key
        return True

    async def send_message(self, message: Message) -> None:
        await self.send(text_data=json.dumps(to_wire(message)))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not hasattr(self, "bucket"):
            self.bucket = TokenBucket(settings.WS_RATE_PER_SECOND, settings.WS_RATE_BURST)
            # Read once: settings are a lazy object, dear to read on every message.
            self.max_bytes = settings.WS_MAX_MESSAGE_BYTES
        if text_data is None and len(bytes_data or b"") > self.max_bytes:
            await self.close(code=4413, reason="message too big")
            return
        try:
            # Strictly: invalid UTF-8 replaced by U+FFFD would be relayed as if it were sent.
            raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8")
        except UnicodeDecodeError:
            await self.close(code=4400, reason="not JSON")
            return
        if len(raw.encode()) > self.max_bytes:
            await self.close(code=4413, reason="message too big")
            return
        if not self.bucket.take():
            await self.close(code=4429, reason="too many messages")
            return
        try:
            message = parse_inbound(json.loads(raw), self.inbound)
        except (ValueError, RecursionError) as error:
            # JSONDecodeError and SchemaError are ValueErrors; absurd nesting is a RecursionError.
            reason = str(error) if isinstance(error, SchemaError) else "not JSON"
            await self.close(code=4400, reason=reason[:120])
            return
        await self.handle(message)

    async def handle(self, message: Message) -> None:
        raise NotImplementedError


class WaitingAreaConsumer(GuardedJsonConsumer):
    """A clinic's waiting area, live: for that clinic's members only."""

    inbound = WAITING_AREA_INBOUND

    async def connect(self) -> None:
        # Join the groups before reading the snapshot: a caller arriving in between is then in
        # the snapshot or in a queued event (the page replaces rows by id), never in neither.
        try:
            if cross_process():
                clinic = await database_sync_to_async(self._admit)()
                for group in self._groups():
                    await self.join_group(group)
                snapshot = await database_sync_to_async(self._snapshot)(clinic)
            else:
                # One thread hop: who it is (the session), access, the cap, the snapshot.
                snapshot = await database_sync_to_async(self._connect_in_one_hop)()
        except Refused as refused:
            await self.refuse(refused.code, refused.reason)
            return
        await self.accept()
        await self.send_message(snapshot)
        self.release_events()

    def _connect_in_one_hop(self) -> WaitingSnapshotOut:
        clinic = self._admit()
        for group in self._groups():
            hub.add(group, self)  # local only: without a channel layer there is nothing else
            self.joined.append(group)
        return self._snapshot(clinic)

    def _groups(self) -> list[str]:
        return [waiting_group(self.clinic_id), user_group(self.user_id)]

    def _admit(self) -> Any:
        """Signed in, a member of the clinic, under the cap; raises Refused. Returns the clinic."""
        from carecall.orgs.access import clinic_for_user

        user = self.scope.get("user")
        clinic_id = int(self.scope["url_route"]["kwargs"]["clinic_id"])
        if user is None or not user.is_authenticated:
            raise Refused(4403, "sign in first")
        try:
            access = clinic_for_user(user, clinic_id)
        except Http404:
            raise Refused(4404, "no such clinic") from None
        except PermissionDenied:
            raise Refused(4403, "not a member of this clinic") from None
        key = ("waiting", user.pk, clinic_id)
        if not socket_caps.take(key, limit=settings.WS_SOCKETS_PER_WAITING_AREA):
            raise Refused(CAP_CLOSE_CODE, "too many connections open")
        self.cap_key = key
        self.user_id, self.clinic_id = user.pk, clinic_id
        return access.clinic

    def _snapshot(self, clinic: Any) -> WaitingSnapshotOut:
        return WaitingSnapshotOut(
            visits=[waiting_visit_info(v) for v in waiting_area_visits(clinic)]
        )

    @database_sync_to_async
    def _allowed(self) -> bool:
        from carecall.accounts.models import User
        from carecall.orgs.access import clinic_for_user

        user = User.objects.filter(pk=self.user_id, is_active=True).first()
        if user is None:
            return False
        try:
            clinic_for_user(user, self.clinic_id)
        except (Http404, PermissionDenied):
            return False
        return True

    async def still_allowed(self) -> bool:
        return bool(await self._allowed())

    async def handle(self, message: Message) -> None:
        if isinstance(message, PingIn):
            await self.send_message(PongOut())


class CallConsumer(GuardedJsonConsumer):
    """One person's connection to a visit's call: staff by session, patients and guests by token."""

    inbound = CALL_INBOUND
    participant: Participant
    visit: Visit

    async def connect(self) -> None:
        try:
            if cross_process():
                # Subscribed (through Redis) before the welcome is read, so that no event from
                # another process falls between the two: two thread hops.
                fast = await database_sync_to_async(self._open_by_link)()
                if fast is None:
                    await database_sync_to_async(self._identify_and_admit)()
                for group in self._groups():
                    await self.join_group(group)
                welcome = await database_sync_to_async(self._welcome)()
            else:
                # Every event is this process's: one thread hop for the whole connect.
                welcome = await database_sync_to_async(self._connect_in_one_hop)()
        except Refused as refused:
            await self.refuse(refused.code, refused.reason)
            return
        await self.accept()
        # Who may be signalled is kept from here on from the call's events (roster.py).
        wire = to_wire(welcome)
        self.roster = Roster.from_welcome(wire)
        await self.send(text_data=json.dumps(wire))
        self.release_events()  # those that came since the welcome was read follow it

    def _connect_in_one_hop(self) -> WelcomeOut:
        if self._open_by_link() is None:
            self._identify_and_admit()
        for group in self._groups():
            hub.add(group, self)  # local only: without a channel layer there is nothing else
            self.joined.append(group)
        return self._welcome()

    def _groups(self) -> list[str]:
        groups = [call_group(self.visit_id), participant_group(self.me)]
        if self.user_id is not None:
            groups.append(user_group(self.user_id))
        return groups

    def _link(self) -> SocketLink | None:
        """What the URL and the browser say this socket is (None: not signed in)."""
        kwargs = self.scope["url_route"]["kwargs"]
        if "patient_token" in kwargs:
            return SocketLink(
                ParticipantKind.PATIENT, token_hash=token_hash(kwargs["patient_token"])
            )
        if "guest_token" in kwargs:
            session = self.scope.get("session") or {}
            return SocketLink(
                ParticipantKind.GUEST,
                token_hash=token_hash(kwargs["guest_token"]),
                claimed_ids=tuple(session.get(GUEST_SESSION_KEY, [])),
            )
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return None
        return SocketLink(ParticipantKind.CLINICIAN, visit_id=kwargs["visit_id"], user_id=user.pk)

    def _open_by_link(self) -> Opened | None:
        """The common connect: counted by one statement that checks the link's access
        (socket_connect.py). None: the general path decides (a refusal, a patient's Rejoin)."""
        link = self._link()
        if link is None:
            return None
        limit = settings.WS_SOCKETS_PER_PARTICIPANT
        known = _participant_of_link.get(link.key)
        if known is not None and not socket_caps.take(("participant", known), limit=limit):
            # Over the cap, and never counted: their other sockets are open in this process.
            raise Refused(CAP_CLOSE_CODE, "too many connections open")
        opened = participant_connection_open(link=link)
        if opened is None:
            if known is not None:
                socket_caps.give_back(("participant", known))
            return None
        me = str(opened.participant_id)
        if known is None:
            if not socket_caps.take(("participant", me), limit=limit):
                # Only when more sockets of one person opened at once than the cap allows.
                participant_connection_undo(opened=opened)
                raise Refused(CAP_CLOSE_CODE, "too many connections open")
            if len(_participant_of_link) > _LINKS_REMEMBERED:
                _participant_of_link.clear()
            _participant_of_link[link.key] = me
        self.cap_key = ("participant", me)
        self.counted = True
        self.visit_id, self.me, self.user_id = opened.visit_id, me, link.user_id
        self.opened = opened
        return opened

    def _welcome(self) -> WelcomeOut:
        """Count the socket (if the general path admitted it) and read the welcome: one query."""
        opened: Opened | None = getattr(self, "opened", None)
        if opened is None:
            # The count (announces a return) for the general path, in the same thread hop.
            services.participant_connection_change(participant=self.participant, delta=1)
            self.counted = True
        everyone = welcome_rows(self.visit_id)
        me = next((p for p in everyone if str(p.pk) == self.me), None)
        if me is None:
            raise Refused(4404, "no such call")
        self.participant, self.visit = me, me.visit
        if opened is not None and opened.returned:
            participant_return_announce(me=me, everyone=everyone)
        return welcome_for(me, everyone)

    def _identify_and_admit(self) -> None:
        """Who this is, and whether they may connect now; raises Refused."""
        try:
            participant = self._identify()
        except (Http404, Participant.DoesNotExist):
            raise Refused(4404, "no such call") from None
        except PermissionDenied as denied:
            raise Refused(4403, str(denied) or "not allowed") from None
        except CallEnded:
            raise Refused(4409, "this call has ended") from None
        limit = settings.WS_SOCKETS_PER_PARTICIPANT
        if not socket_caps.take(("participant", str(participant.pk)), limit=limit):
            raise Refused(CAP_CLOSE_CODE, "too many connections open")
        self.cap_key = ("participant", str(participant.pk))
        visit = participant.visit
        if visit.status == VisitStatus.DONE:
            raise Refused(4409, "this call has ended")
        if participant.left_at is not None:
            if participant.kind != ParticipantKind.PATIENT:
                raise Refused(4409, "this call has ended")
            # A patient who stepped out connects again only from their page's Rejoin.
            try:
                participant = services.visit_rejoin_by_patient(visit=visit)
            except ServiceError:
                raise Refused(4409, "this call has ended") from None
            participant.visit = visit
        self.participant, self.visit, self.me = participant, visit, str(participant.pk)
        self.visit_id, self.user_id = visit.pk, participant.user_id

    def _identify(self) -> Participant:
        kwargs = self.scope["url_route"]["kwargs"]
        if "patient_token" in kwargs:
            visit = visit_for_token(kwargs["patient_token"])
            return Participant.objects.select_related("visit", "visit__clinic").get(
                visit=visit, kind=ParticipantKind.PATIENT
            )
        if "guest_token" in kwargs:
            session = self.scope.get("session") or {}
            guest = guest_for_token(
                kwargs["guest_token"], claimed_ids=session.get(GUEST_SESSION_KEY, [])
            )
            if guest.visit.status == VisitStatus.DONE:
                raise CallEnded
            if guest.claimed_at is None:
                raise PermissionDenied("enter your name first")
            return guest
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            raise PermissionDenied("sign in first")
        _access, visit = visit_for_staff(user, kwargs["visit_id"])
        if visit.status == VisitStatus.DONE:
            raise CallEnded
        participant = (
            Participant.objects.select_related("visit", "visit__clinic")
            .filter(visit=visit, user=user, joined_at__isnull=False, left_at__isnull=True)
            .first()
        )
        if participant is None:
            raise PermissionDenied("join the call from the waiting area first")
        return participant

    async def disconnect(self, code: int) -> None:
        await self.leave_groups()
        if getattr(self, "counted", False):
            self.counted = False
            heartbeats.forget(self.me)
            await database_sync_to_async(services.participant_connection_change)(
                participant=self.participant, delta=-1
            )

    async def on_event(self, event: Event) -> None:
        if event.exclude == self.me:
            return
        payload = event.payload
        kind = payload.get("type")
        if kind == ACCESS_CHANGED:
            await super().on_event(event)
            return
        if kind == "participant_left" and payload["id"] == self.me:
            # They left (from this page or another of theirs): this one is out too.
            await self.close(code=1000, reason="left the call")
            return
        roster = getattr(self, "roster", None)
        if roster is not None:
            roster.apply(payload)
        await self.send(text_data=event.text)
        if kind == "ended" or (kind == "visit_status" and payload["status"] == VisitStatus.DONE):
            await self.close(code=4409, reason="this call has ended")

    @database_sync_to_async
    def _allowed(self) -> bool:
        from carecall.accounts.models import User

        user_id = self.participant.user_id
        user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
        if user is None:
            return False
        try:
            visit_for_staff(user, self.visit.pk)
        except (Http404, PermissionDenied):
            return False
        return True

    async def still_allowed(self) -> bool:
        if self.participant.user_id is None:
            return True  # patients and guests: their token is their key
        return bool(await self._allowed())

    async def handle(self, message: Message) -> None:
        if isinstance(message, PingIn):
            # Written in batches (presence.heartbeats), not one statement per ping.
            heartbeats.note(self.me)
            await self.send_message(PongOut())
        elif isinstance(message, SignalIn):
            await self._signal(message)
        elif isinstance(message, MediaIn):
            await database_sync_to_async(services.participant_media_set)(
                participant=self.participant, audio=message.audio, video=message.video
            )
        elif isinstance(message, LeaveIn):
            await database_sync_to_async(services.participant_leave)(participant=self.participant)
            await self.close(code=1000, reason="left the call")
        elif isinstance(message, HoldIn | ResumeIn | EndIn | InviteGuestIn):
            await self._clinician_action(message)

    async def _signal(self, message: SignalIn) -> None:
        if not self.roster.may_signal(message.to):
            # Not sure from the events seen: the database settles it (rare: a join whose
            # event is still on its way).
            kind = await self._may_signal(message.to)
            if kind is None:
                await self.send_message(
                    ErrorOut(
                        code="not_in_call", message="That person is not in this call with you."
                    )
                )
                return
            self.roster.learn(message.to, kind)
        out = SignalOut(
            sender=self.me,
            description=to_wire_part(message.description),
            candidate=to_wire_part(message.candidate),
        )
        await hub.publish(participant_group(message.to), event_for(out))

    @database_sync_to_async
    def _may_signal(self, to: str) -> str | None:
        """The target's kind when both of us are in the call, else None."""
        visit = Visit.objects.get(pk=self.visit.pk)
        me = Participant.objects.get(pk=self.participant.pk)
        target = Participant.objects.filter(pk=to, visit=visit).first()
        if (
            target is not None
            and target.pk != me.pk
            and participant_is_present(me, visit)
            and participant_is_present(target, visit)
        ):
            return str(target.kind)
        return None

    async def _clinician_action(self, message: Message) -> None:
        if self.participant.kind != ParticipantKind.CLINICIAN:
            await self.close(code=4403, reason=f"only clinicians may {message.type}")
            return
        try:
            result = await self._run_clinician_action(message)
        except (ServiceError, PermissionDenied, Http404) as error:
            text = error.message if isinstance(error, ServiceError) else "not allowed"
            await self.send_message(ErrorOut(code="refused", message=text))
            return
        if result is not None:
            await self.send_message(result)

    @database_sync_to_async
    def _run_clinician_action(self, message: Message) -> Message | None:
        user = self.participant.user
        assert user is not None
        visit = Visit.objects.get(pk=self.visit.pk)
        if isinstance(message, HoldIn):
            services.visit_hold(actor=user, visit=visit)
        elif isinstance(message, ResumeIn):
            services.visit_resume(actor=user, visit=visit)
        elif isinstance(message, EndIn):
            services.visit_end(actor=user, visit=visit)
        elif isinstance(message, InviteGuestIn):
            _guest, url = services.guest_invite_create(
                actor=user, visit=visit, base_url=self._origin()
            )
            return GuestInviteOut(url=url)
        return None

    def _origin(self) -> str:
        """The page's own origin (already checked against ALLOWED_HOSTS), for links we hand out."""
        headers = dict(self.scope.get("headers", []))
        origin = headers.get(b"origin", b"").decode("latin-1")
        return origin or settings.SITE_URL


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """The last websocket route: any other path is accepted and closed with 4404, so the
    browser sees why (Channels' router raises at the handshake: a 500)."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=4404, reason="no such websocket")


def to_wire_part(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    # Flat dataclasses of strings and numbers: no deep copy (dataclasses.asdict) needed.
    return {k: v for k, v in vars(value).items() if v is not None}
