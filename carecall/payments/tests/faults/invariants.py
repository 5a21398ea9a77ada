"""The money invariants every fault scenario ends with, read from both sides: Stripe (the
sandbox, through the SDK as our own code talks to it) and CareCall's database.

1. Every PaymentIntent that succeeded at Stripe is exactly one paid request, paid once (one
   "paid" audit entry) with one receipt in the outbox when it has a receipt address.
2. No request is paid (or refunded) that Stripe did not take.
3. Refunded amounts equal Stripe's (the charge's `amount_refunded`), and our succeeded refunds
   never add up to more than that.
4. After reconcile, no intent CareCall made is left open at Stripe without its request.
5. Every status a request went through followed the one before it by a forward transition.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe
from django.db.models import Sum
from django.db.models.signals import post_save

import stripe_sandbox
from carecall.audit.models import AuditEntry
from carecall.notifications.models import OutboxEmail
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.models import (
    PAID_STATUSES,
    PaymentRequest,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from carecall.payments.tests.helpers import HARBOUR, NORTHSIDE, stripe_client

S = PaymentStatus
# Which status may follow which, written out here on its own (not imported from the code under
# test). Stripe has the last word on money, so a request given up on (cancelled, expired,
# failed) may still become paid when Stripe says the card was charged.
FORWARD: dict[str, set[str]] = {
    S.REQUESTED: {S.PROCESSING, S.FAILED, S.PAID, S.CANCELLED, S.EXPIRED},
    S.PROCESSING: {S.FAILED, S.PAID, S.CANCELLED, S.EXPIRED},
    S.FAILED: {S.PROCESSING, S.PAID, S.CANCELLED, S.EXPIRED},
    S.CANCELLED: {S.PAID},
    S.EXPIRED: {S.PAID},
    S.PAID: {S.PARTIALLY_REFUNDED, S.REFUNDED},
    S.PARTIALLY_REFUNDED: {S.PARTIALLY_REFUNDED, S.REFUNDED},
    S.REFUNDED: set(),
}


class StatusHistory:
    """Every status each request is saved with, in order (this process's saves)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: dict[uuid.UUID, list[str]] = {}

    def record(self, instance: PaymentRequest, **_kwargs: Any) -> None:
        with self._lock:
            statuses = self.seen.setdefault(instance.pk, [])
            if (
                not statuses
                or statuses[-1] != instance.status
                or instance.status == S.PARTIALLY_REFUNDED
            ):
                statuses.append(str(instance.status))


@contextmanager
def status_history() -> Iterator[StatusHistory]:
    history = StatusHistory()
    post_save.connect(history.record, sender=PaymentRequest, weak=False)
    try:
        yield history
    finally:
        post_save.disconnect(history.record, sender=PaymentRequest)


def intents_at_stripe(sandbox: stripe_sandbox.SandboxServer) -> list[dict[str, Any]]:
    """Every PaymentIntent of the clinics' accounts, all pages, with the charge expanded."""
    client = stripe_client(sandbox)
    found = []
    for account in (HARBOUR, NORTHSIDE):
        params: dict[str, Any] = {"limit": 100, "expand": ["data.latest_charge"]}
        while True:
            try:
                page = client.v1.payment_intents.list(params, {"stripe_account": account})  # type: ignore[arg-type]
            except stripe.PermissionError:
                break  # not connected: nothing of ours can be there
            found += [{**pi.to_dict(), "_account": account} for pi in page.data]
            if not page.has_more:
                break
            params["starting_after"] = page.data[-1].id
    return found


def assert_money_invariants(
    sandbox: stripe_sandbox.SandboxServer,
    *,
    history: StatusHistory | None = None,
    after_reconcile: bool = True,
) -> None:
    problems: list[str] = []
    intents = intents_at_stripe(sandbox)
    by_id = {pi["id"]: pi for pi in intents}
    requests = {pr.payment_intent_id: pr for pr in PaymentRequest.objects.all()}

    for pi in intents:
        pr = requests.get(pi["id"])
        # CareCall's intents name the request, the clinic and the reference; a clinic's own
        # intents on its account are not ours to judge.
        ours = {"payment_request", "clinic", "reference"} <= set(pi.get("metadata") or {})
        if pi["status"] == "succeeded":
            if pr is None:
                problems.append(f"{pi['id']} succeeded at Stripe but has no request")
                continue
            if pr.status not in PAID_STATUSES:
                problems.append(f"{pi['id']} succeeded at Stripe but {pr.pk} is {pr.status}")
            paid = AuditEntry.objects.filter(
                action=PaymentAction.PAYMENT_PAID, target=f"payment:{pr.pk}"
            ).count()
            if paid != 1:
                problems.append(f"{pr.pk} was marked paid {paid} times")
            receipts = OutboxEmail.objects.filter(tag=f"payments.receipt:{pr.pk}").count()
            if receipts != (1 if pr.receipt_email else 0):
                problems.append(f"{pr.pk} has {receipts} receipts (email {pr.receipt_email!r})")
            charge = pi.get("latest_charge") or {}
            refunded = int(charge.get("amount_refunded") or 0)
            if pr.amount_refunded != refunded:
                problems.append(f"{pr.pk} shows {pr.amount_refunded} refunded, Stripe {refunded}")
            expected = (
                S.REFUNDED
                if refunded >= pr.amount
                else S.PARTIALLY_REFUNDED
                if refunded
                else S.PAID
            )
            if pr.status != expected:
                problems.append(f"{pr.pk} is {pr.status}; Stripe's refunds make it {expected}")
            succeeded = (
                pr.refunds.filter(status=RefundStatus.SUCCEEDED).aggregate(total=Sum("amount"))[
                    "total"
                ]
                or 0
            )
            if succeeded > refunded:
                problems.append(f"{pr.pk}: our refunds {succeeded} exceed Stripe's {refunded}")
        elif ours and pr is None and after_reconcile and pi["status"] != "canceled":
            problems.append(f"orphan intent {pi['id']} ({pi['status']}) left open after reconcile")

    for intent_id, pr in requests.items():
        if pr.status in PAID_STATUSES:
            taken = by_id.get(intent_id or "")
            if taken is None or taken["status"] != "succeeded":
                problems.append(f"{pr.pk} is {pr.status} but Stripe did not take the money")
        if pr.status in (S.REQUESTED, S.PROCESSING, S.FAILED) and intent_id not in by_id:
            problems.append(f"{pr.pk} is open but its intent {intent_id} is not at Stripe")
    if Refund.objects.filter(status=RefundStatus.SUCCEEDED, stripe_refund_id__isnull=True):
        problems.append("a refund is marked succeeded without a Stripe refund id")

    if history is not None:
        for pk, statuses in history.seen.items():
            for before, after in itertools.pairwise(statuses):
                if after not in FORWARD[before]:
                    problems.append(f"{pk} went backwards: {before} -> {after} ({statuses})")
    assert not problems, "money invariants broken:\n" + "\n".join(problems)
