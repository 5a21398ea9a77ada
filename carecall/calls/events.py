"""Live events to browsers, sent through the channel layer after the database commit.

Group names: `call.<visit id>` (everyone in a visit's call), `participant.<id>` (one person's
connections), `waiting.<clinic id>` (the clinic's waiting-area pages).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from carecall.calls.schemas import Message, to_wire


def call_group(visit_id: object) -> str:
    return f"call.{visit_id}"


def participant_group(participant_id: object) -> str:
    return f"participant.{participant_id}"


def waiting_group(clinic_id: int) -> str:
    return f"waiting.{clinic_id}"


def event_payload(message: Message, *, exclude: str | None = None) -> dict[str, Any]:
    return {"type": "carecall.event", "payload": to_wire(message), "exclude": exclude}


def broadcast_on_commit(group: str, message: Message, *, exclude: str | None = None) -> None:
    payload = event_payload(message, exclude=exclude)

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, payload)

    transaction.on_commit(send)
