"""Websocket consumers: the waiting-area dashboard and each visit's call signalling.

Thin: authenticate on connect, enforce size / rate / schema, call a service, relay events.
Close codes: 4400 bad message, 4403 not allowed, 4404 unknown, 4409 call ended,
4413 message too big, 4429 too many messages.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal, cast

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404

from carecall.calls import services
from carecall.calls.access import (
    GUEST_SESSION_KEY,
    guest_for_token,
    visit_for_staff,
    visit_for_token,
)
from carecall.calls.call_apps import call_apps_for
from carecall.calls.events import call_group, participant_group, waiting_group
from carecall.calls.models import Participant, ParticipantKind, Visit, VisitStatus
from carecall.calls.schemas import (
    CALL_INBOUND,
    WAITING_AREA_INBOUND,
    AppInfo,
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
    VisitInfo,
    WaitingSnapshotOut,
    WelcomeOut,
    parse_inbound,
    to_wire,
)
from carecall.calls.selectors import (
    participant_info,
    participant_is_present,
    present_participants,
    waiting_area_visits,
    waiting_visit_info,
)
from carecall.calls.turn import ice_servers_for
from carecall.calls.waiting_area import WaitingAreaSettings
from carecall.core.errors import ServiceError


class CallEnded(Exception):
    """The visit is over: every key to it is refused with 4409."""


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


class GuardedJsonConsumer(AsyncWebsocketConsumer):
    """JSON messages with a size limit, a rate limit and declared schemas."""

    inbound: dict[str, type[Message]] = {}
    closed = False

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

    async def send_message(self, message: Message) -> None:
        await self.send(text_data=json.dumps(to_wire(message)))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not hasattr(self, "bucket"):
            self.bucket = TokenBucket(settings.WS_RATE_PER_SECOND, settings.WS_RATE_BURST)
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw.encode()) > settings.WS_MAX_MESSAGE_BYTES:
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

    async def carecall_event(self, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(event["payload"]))


class WaitingAreaConsumer(GuardedJsonConsumer):
    """A clinic's waiting area, live: for that clinic's members only."""

    inbound = WAITING_AREA_INBOUND

    async def connect(self) -> None:
        user = self.scope.get("user")
        clinic_id = int(self.scope["url_route"]["kwargs"]["clinic_id"])
        if user is None or not user.is_authenticated:
            await self.refuse(4403, "sign in first")
            return
        try:
            await self._snapshot(user, clinic_id)  # access check before joining the group
        except Http404:
            await self.refuse(4404, "no such clinic")
            return
        except PermissionDenied:
            await self.refuse(4403, "not a member of this clinic")
            return
        # Join the group before reading the snapshot: a caller arriving in between is then in
        # the snapshot or in a queued event (the page replaces rows by id), never in neither.
        self.group = waiting_group(clinic_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        snapshot = await self._snapshot(user, clinic_id)
        await self.accept()
        await self.send_message(snapshot)

    @database_sync_to_async
    def _snapshot(self, user: Any, clinic_id: int) -> WaitingSnapshotOut:
        from carecall.orgs.access import clinic_for_user

        access = clinic_for_user(user, clinic_id)
        return WaitingSnapshotOut(
            visits=[waiting_visit_info(v) for v in waiting_area_visits(access.clinic)]
        )

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

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
            self.participant = await self._identify()
        except (Http404, Participant.DoesNotExist):
            await self.refuse(4404, "no such call")
            return
        except PermissionDenied as denied:
            await self.refuse(4403, str(denied) or "not allowed")
            return
        except CallEnded:
            await self.refuse(4409, "this call has ended")
            return
        self.visit = self.participant.visit
        if self.visit.status == VisitStatus.DONE:
            await self.refuse(4409, "this call has ended")
            return
        if self.participant.left_at is not None:
            if self.participant.kind != ParticipantKind.PATIENT:
                await self.refuse(4409, "this call has ended")
                return
            # A patient who stepped out connects again only from their page's Rejoin.
            try:
                self.participant = await database_sync_to_async(services.visit_rejoin_by_patient)(
                    visit=self.visit
                )
            except ServiceError:
                await self.refuse(4409, "this call has ended")
                return
            self.participant.visit = self.visit
        self.me = str(self.participant.pk)
        self.groups_joined = [call_group(self.visit.pk), participant_group(self.me)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await database_sync_to_async(services.participant_connection_change)(
            participant=self.participant, delta=1
        )
        await self.send_message(await self._welcome())

    @database_sync_to_async
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

    @database_sync_to_async
    def _welcome(self) -> WelcomeOut:
        participant = Participant.objects.select_related("visit", "visit__clinic").get(
            pk=self.participant.pk
        )
        visit = participant.visit
        clinic = visit.clinic
        return WelcomeOut(
            you=participant_info(participant),
            visit=VisitInfo(
                id=str(visit.pk),
                status=visit.status,  # type: ignore[arg-type]
                clinic=clinic.name,
                waiting_message=WaitingAreaSettings.for_clinic(clinic).message,
                entered_at=visit.entered_at.isoformat(),
                admitted_at=visit.admitted_at.isoformat() if visit.admitted_at else None,
            ),
            participants=[
                participant_info(p) for p in present_participants(visit, exclude=participant)
            ],
            ice_servers=ice_servers_for(self.me),
            ice_transport_policy=cast(Literal["all", "relay"], settings.ICE_TRANSPORT_POLICY),
            apps=[
                AppInfo(key=a.key, name=a.name, icon=a.icon)
                for a in call_apps_for(clinic=clinic, kind=participant.kind)
            ],
        )

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "groups_joined"):
            return
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        await database_sync_to_async(services.participant_connection_change)(
            participant=self.participant, delta=-1
        )

    async def carecall_event(self, event: dict[str, Any]) -> None:
        if event.get("exclude") == self.me:
            return
        payload = event["payload"]
        await self.send(text_data=json.dumps(payload))
        if payload["type"] == "ended":
            await self.close(code=4409, reason="this call has ended")
        elif payload["type"] == "participant_left" and payload["id"] == self.me:
            # They left from another page of theirs: this one is out too.
            await self.close(code=1000, reason="left the call")

    async def handle(self, message: Message) -> None:
        if isinstance(message, PingIn):
            # The heartbeat that outlives a crashed process's counts (services.participant_seen).
            await database_sync_to_async(services.participant_seen)(participant=self.participant)
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
        ok = await self._may_signal(message.to)
        if not ok:
            await self.send_message(
                ErrorOut(code="not_in_call", message="That person is not in this call with you.")
            )
            return
        out = SignalOut(
            sender=self.me,
            description=to_wire_part(message.description),
            candidate=to_wire_part(message.candidate),
        )
        await self.channel_layer.group_send(
            participant_group(message.to), {"type": "carecall.event", "payload": to_wire(out)}
        )

    @database_sync_to_async
    def _may_signal(self, to: str) -> bool:
        visit = Visit.objects.get(pk=self.visit.pk)
        me = Participant.objects.get(pk=self.participant.pk)
        target = Participant.objects.filter(pk=to, visit=visit).first()
        return (
            target is not None
            and target.pk != me.pk
            and participant_is_present(me, visit)
            and participant_is_present(target, visit)
        )

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


def to_wire_part(value: Any) -> dict[str, Any] | None:
    import dataclasses

    if value is None:
        return None
    return {k: v for k, v in dataclasses.asdict(value).items() if v is not None}
