"""A refund never holds a database transaction open while Stripe is asked (issue 10, item 6).

Stripe can take ~30 s; on SQLite a transaction that has written holds the one write lock of
every clinic. So a refund reserves its amount under the payment's lock, asks Stripe with no
transaction open, then records Stripe's answer under the lock again; what Stripe gives back for
the same idempotency key is recorded, never refunded twice, and two refunds at once can never
take more than was paid."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

import stripe_sandbox
from carecall.audit.models import AuditEntry
from carecall.core.errors import ServiceError
from carecall.orgs.models import Clinic
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.gateway import RefundResult, get_gateway
from carecall.payments.models import PaymentRequest, PaymentStatus, Refund, RefundStatus
from carecall.payments.services import refunds
from carecall.payments.services.refunds import refund_create, refunds_resume_unsent
from carecall.payments.stripe_gateway import StripeCalledInTransaction
from carecall.payments.tests.helpers import stripe_client
from carecall.payments.tests.test_records_support import paid_request
from testsupport.world import World

STRIPE_SECONDS = 2.0  # how long the slow Stripe below takes to make a refund


def _stripe_refunds(sandbox: stripe_sandbox.SandboxServer, pr: PaymentRequest) -> list[int]:
    listed = stripe_client(sandbox).v1.refunds.list(
        {"payment_intent": pr.payment_intent_id or ""}, {"stripe_account": pr.stripe_account_id}
    )
    return sorted(int(r.amount) for r in listed.data)


def _open_transactions() -> int:
    """Transactions open on this thread's connections, the test case's own not counted."""
    return sum(
        not getattr(block, "_from_testcase", False)
        for conn in connections.all(initialized_only=True)
        for block in conn.atomic_blocks
    )


class _SlowStripe:
    """The real gateway, except that a refund takes STRIPE_SECONDS; `at_stripe` is set as soon as
    the refund is on its way (so the test knows the refund is waiting on Stripe)."""

    def __init__(self) -> None:
        self.real = get_gateway()
        self.at_stripe = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def refund_create(self, **kwargs: Any) -> RefundResult:
        self.at_stripe.set()
        time.sleep(STRIPE_SECONDS)
        return self.real.refund_create(**kwargs)


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # surfaced by the test, in its own thread
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _refund(world: World, pr: PaymentRequest, amount: str, token: str) -> Refund:
    return refund_create(
        actor=world.clinic_admin,
        payment_request=pr,
        amount_text=amount,
        reason="requested_by_customer",
        note="",
        form_token=token,
    )


@pytest.mark.django_db(transaction=True)
def test_an_unrelated_write_is_not_held_up_by_a_refund_waiting_on_a_slow_stripe(
    connected: World, sandbox: stripe_sandbox.SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pr = paid_request(connected, sandbox)
    slow = _SlowStripe()
    monkeypatch.setattr(refunds, "get_gateway", lambda: slow)

    thread, outcome = _in_thread(lambda: _refund(connected, pr, "20.00", "slow-stripe"))
    assert slow.at_stripe.wait(10), outcome
    started = time.monotonic()
    # Another clinic's row, written while Harbour GP's refund waits on Stripe.
    Clinic.objects.filter(pk=connected.northside.pk).update(name="Northside Physio & Rehab")
    waited = time.monotonic() - started
    refund_still_waiting = thread.is_alive()
    thread.join(20)

    assert "error" not in outcome, outcome
    assert waited < STRIPE_SECONDS / 4, f"the write waited {waited:.2f} s for Stripe"
    assert refund_still_waiting
    assert Clinic.objects.get(pk=connected.northside.pk).name == "Northside Physio & Rehab"
    refund = outcome["value"]
    assert (refund.status, refund.amount) == (RefundStatus.SUCCEEDED, 2000)
    pr.refresh_from_db()
    assert (pr.status, pr.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 2000)
    assert _stripe_refunds(sandbox, pr) == [2000]


@pytest.mark.django_db(transaction=True)
def test_two_refunds_at_once_never_take_more_than_was_paid(
    connected: World, sandbox: stripe_sandbox.SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two admins refund 60.00 of 85.00 at the same moment: the second, made while the first
    is at Stripe, sees the first's amount as taken."""
    pr = paid_request(connected, sandbox)
    slow = _SlowStripe()
    monkeypatch.setattr(refunds, "get_gateway", lambda: slow)

    thread, outcome = _in_thread(lambda: _refund(connected, pr, "60.00", "first-admin"))
    assert slow.at_stripe.wait(10), outcome
    with pytest.raises(ServiceError, match=r"The largest amount allowed here is AUD 25\.00\."):
        _refund(connected, pr, "60.00", "second-admin")
    thread.join(20)

    assert "error" not in outcome, outcome
    assert _stripe_refunds(sandbox, pr) == [6000]
    assert list(Refund.objects.values_list("form_token", "amount", "status")) == [
        ("first-admin", 6000, RefundStatus.SUCCEEDED)
    ]
    pr.refresh_from_db()
    assert pr.amount_refunded == 6000
    monkeypatch.setattr(refunds, "get_gateway", get_gateway)
    _refund(connected, pr, "25.00", "the-rest")
    pr.refresh_from_db()
    assert (pr.status, pr.amount_refunded) == (PaymentStatus.REFUNDED, 8500)
    assert _stripe_refunds(sandbox, pr) == [2500, 6000]


def test_every_stripe_call_of_a_refund_is_made_with_no_transaction_open(
    connected: World, sandbox: stripe_sandbox.SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pr = paid_request(connected, sandbox)
    real = get_gateway()
    calls: list[tuple[str, int]] = []

    class Watching:
        def __getattr__(self, name: str) -> Any:
            method = getattr(real, name)

            def watched(**kwargs: Any) -> Any:
                calls.append((name, _open_transactions()))
                return method(**kwargs)

            return watched

    monkeypatch.setattr(refunds, "get_gateway", Watching)

    refund = _refund(connected, pr, "20.00", "watched")

    assert refund.status == RefundStatus.SUCCEEDED
    # The refund, then the charge's refunded total (dashboard refunds): both outside.
    assert calls == [("refund_create", 0), ("intent_retrieve", 0)]


def test_the_gateway_refuses_a_stripe_call_inside_a_transaction(
    connected: World, sandbox: stripe_sandbox.SandboxServer, settings: Any, caplog: Any
) -> None:
    """The tests run with STRIPE_CALLS_IN_TRANSACTION = "raise", so any service that calls
    Stripe with a transaction open fails its tests; production logs it with the stack."""
    pr = paid_request(connected, sandbox)
    gateway = get_gateway()

    def ask() -> None:
        gateway.intent_retrieve(
            account_id=pr.stripe_account_id, intent_id=pr.payment_intent_id or ""
        )

    ask()  # the test case's own transaction does not count
    with transaction.atomic(), pytest.raises(StripeCalledInTransaction):
        ask()

    settings.STRIPE_CALLS_IN_TRANSACTION = "log"
    with transaction.atomic():
        ask()  # still made
    assert "Stripe called inside a database transaction (on default)" in caplog.text


def test_a_refund_a_crash_left_unsent_is_recorded_from_stripe_and_not_made_twice(
    connected: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    """The process died after Stripe made the refund and before its answer was recorded: our
    row is pending with no Stripe id. Asking again with the same idempotency key gets Stripe's
    refund back."""
    pr = paid_request(connected, sandbox)
    reserved = Refund.objects.create(
        payment_request=pr,
        amount=2000,
        reason="requested_by_customer",
        requested_by=connected.clinic_admin,
        form_token="crashed",
    )
    made = get_gateway().refund_create(
        account_id=pr.stripe_account_id,
        intent_id=pr.payment_intent_id or "",
        amount=2000,
        reason="requested_by_customer",
        idempotency_key=f"refund:{pr.pk}:crashed",
    )
    assert refunds_resume_unsent() == 0  # may still be on its way: left alone
    Refund.objects.filter(pk=reserved.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    assert refunds_resume_unsent() == 1

    reserved.refresh_from_db()
    assert (reserved.stripe_refund_id, reserved.status) == (made.id, RefundStatus.SUCCEEDED)
    assert _stripe_refunds(sandbox, pr) == [2000]
    pr.refresh_from_db()
    assert (pr.status, pr.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 2000)
    assert AuditEntry.objects.filter(action=PaymentAction.PAYMENT_REFUNDED).count() == 1
    assert refunds_resume_unsent() == 0


def test_the_next_refund_first_sends_one_a_crash_left_before_stripe_was_asked(
    connected: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    """The process died before Stripe was asked: the amount stays reserved (a second refund
    cannot take it) until the refund the admin asked for is made, once."""
    pr = paid_request(connected, sandbox)
    reserved = Refund.objects.create(
        payment_request=pr,
        amount=6000,
        reason="requested_by_customer",
        requested_by=connected.clinic_admin,
        form_token="never-sent",
    )
    Refund.objects.filter(pk=reserved.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    with pytest.raises(ServiceError, match=r"The largest amount allowed here is AUD 25\.00\."):
        _refund(connected, pr, "30.00", "too-much")

    reserved.refresh_from_db()
    assert reserved.status == RefundStatus.SUCCEEDED and reserved.stripe_refund_id
    assert _stripe_refunds(sandbox, pr) == [6000]
    pr.refresh_from_db()
    assert pr.amount_refunded == 6000
