"""The payments message on the call websocket (declared like every other message type)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from carecall.calls.schemas import Message, register_outbound


@dataclass(frozen=True)
class PaymentInfo:
    id: str
    reference: str
    amount: int
    currency: str
    amount_display: str
    description: str
    status: str
    status_label: str
    payer_id: str
    payer_name: str
    requested_by: str
    created_at: str
    paid_at: str | None
    paid_at_display: str
    card_brand: str
    card_last4: str
    failure_message: str
    cancel_reason: str
    clinic: str


@dataclass(frozen=True)
class PaymentOut(Message):
    """A payment request was made or changed; both sides update their list."""

    type: ClassVar[str] = "payment"
    request: PaymentInfo


register_outbound(PaymentOut)
