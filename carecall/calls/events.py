"""Live events to browsers, announced after the database commit (delivery: `realtime.hub`).

Group names: `call.<visit id>` (everyone in a visit's call), `participant.<id>` (one person's
connections), `waiting.<clinic id>` (the clinic's waiting-area pages), `user.<id>` (every
websocket a signed-in person has open, told when their access changes).
"""

from __future__ import annotations

from django.db import transaction

from carecall.calls.realtime import Event, hub
from carecall.calls.schemas import Message, to_wire

# Never sent to a browser: tells a person's open websockets to check their access again.
ACCESS_CHANGED = "access_changed"


def call_group(visit_id: object) -> str:
    return f"call.{visit_id}"


def participant_group(participant_id: object) -> str:
    return f"participant.{participant_id}"


def waiting_group(clinic_id: int) -> str:
    return f"waiting.{clinic_id}"


def user_group(user_id: object) -> str:
    return f"user.{user_id}"


def event_for(message: Message, *, exclude: str | None = None) -> Event:
    return Event(payload=to_wire(message), exclude=exclude)


def broadcast_on_commit(group: str, message: Message, *, exclude: str | None = None) -> None:
    """Announce a change once it is committed. A lost live event never fails the change that
    caused it: `realtime.Hub.publish_from_sync` logs and carries on (Redis refusing or not
    answering included), and the callback is `robust`, so even an unforeseen error is logged by
    Django instead of raised out of the commit (where it would turn a saved change into a 500
    and skip the other callbacks). Every page heals from its snapshot when it reconnects."""
    event = event_for(message, exclude=exclude)
    transaction.on_commit(lambda: hub.publish_from_sync(group, event), robust=True)


def access_changed_on_commit(user_id: object) -> None:
    """Someone's memberships or account changed: their open websockets re-check their access
    and close (4403) where it has ended."""
    event = Event(payload={"type": ACCESS_CHANGED})
    group = user_group(user_id)
    transaction.on_commit(lambda: hub.publish_from_sync(group, event), robust=True)
