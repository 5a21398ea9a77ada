"""Tell the call who may know about a payment request, after commit."""

from __future__ import annotations

import logging

from carecall.calls.events import broadcast_on_commit, participant_group
from carecall.calls.models import Participant, ParticipantKind
from carecall.payments.access import payment_viewers_among
from carecall.payments.models import PaymentRequest
from carecall.payments.schemas import PaymentOut
from carecall.payments.selectors import payment_info

logger = logging.getLogger(__name__)


def payment_request_announce(pr: PaymentRequest) -> None:
    """Tell the call's clinicians and the payer (only them: amount, description and card are
    nobody else's business, not even another guest's) about a new or changed request."""
    message = PaymentOut(request=payment_info(pr))
    staff = dict(
        Participant.objects.filter(
            visit_id=pr.visit_id, kind=ParticipantKind.CLINICIAN, user_id__isnull=False
        ).values_list("pk", "user_id")
    )
    # Of the staff in the call, only those who may see it: its requester and the clinic's
    # managers, not a colleague (payments/access.py).
    viewers = payment_viewers_among(pr, staff.values())
    shown = [pk for pk, user_id in staff.items() if user_id in viewers]
    for participant_id in {pr.payer_id, *shown}:
        broadcast_on_commit(participant_group(participant_id), message)
