"""Real processes killed with SIGKILL at the worst moments (issue 11, lasting proof): between
Stripe making the intent and our insert, between the card being charged and `complete`
recording it, in the middle of a refund, and a worker in the middle of events. Each is a
`carecall shell` (or `carecall worker`) child on the test database, held at the moment by the
sandbox answering slowly after the call ran (`api_latency_when="after"`); after the kill, what
production runs next (reconcile, a restarted worker) repairs it, and the money invariants hold."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

import stripe_sandbox
from carecall.payments.models import (
    PaymentRequest,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripeEvent,
)
from carecall.payments.services.intents import payment_request_reconcile
from carecall.payments.services.reconcile import intents_orphaned_cancel, payments_reconcile
from carecall.payments.tests.faults.invariants import StatusHistory, assert_money_invariants
from carecall.payments.tests.helpers import (
    HARBOUR,
    Call,
    event_body,
    intents_at_stripe,
    pay_at_stripe,
    post_json,
    post_webhook,
    request_payment,
    stripe_client,
    stripe_event,
)
from carecall.payments.tests.test_worker_killed_mid_burst import (
    ROOT,
    _spawn_worker,
    _worker_env,
)
from testsupport.processes import spawn, stop
from testsupport.world import World

pytestmark = pytest.mark.django_db(transaction=True)

HELD_MS = 20_000  # the sandbox holds the answer this long: the child is killed meanwhile


def _shell(sandbox: stripe_sandbox.SandboxServer, code: str, log: Path) -> subprocess.Popen[bytes]:
    env = _worker_env(sandbox)
    env["STRIPE_TIMEOUT_SECONDS"] = "60"
    return spawn(
        [sys.executable, "-m", "carecall.cli", "shell", "-c", code], log=log, env=env, cwd=ROOT
    )


def _kill_when(
    child: subprocess.Popen[bytes], ready: Callable[[], bool], log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert child.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        stop(child)


def _hold(sandbox: stripe_sandbox.SandboxServer, path: str, method: str) -> None:
    sandbox.configure_faults(
        api_latency_ms=HELD_MS,
        api_latency_when="after",
        api_latency_paths=[path],
        api_fault_methods=[method],
    )


def test_app_killed_between_stripe_making_the_intent_and_the_insert(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    tmp_path: Path,
) -> None:
    log = tmp_path / "create.log"
    _hold(sandbox, "/v1/payment_intents", "post")
    child = _shell(
        sandbox,
        "from carecall.accounts.models import User\n"
        "from carecall.calls.models import Visit\n"
        "from carecall.payments.services.requests import payment_request_create\n"
        f"payment_request_create(actor=User.objects.get(pk={connected.clinician.pk}), "
        f"visit=Visit.objects.get(pk='{call.visit.pk}'), amount_text='85.00', "
        "description='Killed before the insert')\n",
        log,
    )
    _kill_when(child, lambda: bool(intents_at_stripe(sandbox, HARBOUR)), log)
    sandbox.clear_faults()

    assert PaymentRequest.objects.count() == 0
    (orphan,) = intents_at_stripe(sandbox, HARBOUR)
    assert orphan["status"] == "requires_payment_method"
    assert intents_orphaned_cancel(grace=timedelta(0)) == 1
    assert_money_invariants(sandbox, history=history)


def test_app_killed_between_the_card_being_charged_and_complete_recording_it(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    pr = request_payment(connected, call)
    post_json(Client(), call.payer_url(pr, "email"), {"email": "pat@example.test"})
    pay_at_stripe(sandbox, pr)
    log = tmp_path / "complete.log"
    _hold(sandbox, f"/v1/payment_intents/{pr.payment_intent_id}", "get")
    child = _shell(
        sandbox,
        "import sys\n"
        "from carecall.payments.models import PaymentRequest\n"
        "from carecall.payments.services.intents import payment_request_reconcile\n"
        f"pr = PaymentRequest.objects.get(pk='{pr.pk}')\n"
        "print('asking Stripe', flush=True)\n"
        "payment_request_reconcile(payment_request=pr)\n",
        log,
    )

    def asking() -> bool:
        if "asking Stripe" not in log.read_text():
            return False
        time.sleep(1.0)  # inside the held retrieve
        return True

    _kill_when(child, asking, log)
    sandbox.clear_faults()
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED  # the kill left it unrecorded
    PaymentRequest.objects.filter(pk=pr.pk).update(updated_at=timezone.now() - timedelta(minutes=5))

    counts = payments_reconcile()  # (the webhook was lost too: the recorder has it)

    assert counts["changed"] == 1
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert_money_invariants(sandbox, history=history)


def test_app_killed_in_the_middle_of_a_refund(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    tmp_path: Path,
) -> None:
    pr = request_payment(connected, call)
    pay_at_stripe(sandbox, pr)
    payment_request_reconcile(payment_request=pr)
    log = tmp_path / "refund.log"
    _hold(sandbox, "/v1/refunds", "post")
    child = _shell(
        sandbox,
        "from carecall.accounts.models import User\n"
        "from carecall.payments.models import PaymentRequest\n"
        "from carecall.payments.services.refunds import refund_create\n"
        f"refund_create(actor=User.objects.get(pk={connected.clinic_admin.pk}), "
        f"payment_request=PaymentRequest.objects.get(pk='{pr.pk}'), amount_text='30.00', "
        "reason='requested_by_customer', note='', form_token='killed-mid-refund')\n",
        log,
    )

    def refunded_at_stripe() -> bool:
        listed = stripe_client(sandbox).v1.refunds.list({}, {"stripe_account": HARBOUR})
        return bool(listed.data)

    _kill_when(child, refunded_at_stripe, log)
    sandbox.clear_faults()
    (reserved,) = Refund.objects.all()
    assert (reserved.status, reserved.stripe_refund_id) == (RefundStatus.PENDING, None)
    pr.refresh_from_db()
    assert pr.amount_refunded == 0  # Stripe refunded, CareCall shows nothing yet
    # Time passes: the reservation is older than the longest a Stripe call can take.
    Refund.objects.filter(pk=reserved.pk).update(created_at=timezone.now() - timedelta(minutes=10))

    counts = payments_reconcile()

    assert counts["refunds_resumed"] == 1 and counts["errors"] == 0
    reserved.refresh_from_db()
    pr.refresh_from_db()
    assert reserved.status == RefundStatus.SUCCEEDED and reserved.stripe_refund_id
    assert (pr.status, pr.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 3000)
    (only,) = stripe_client(sandbox).v1.refunds.list({}, {"stripe_account": HARBOUR}).data
    assert only.id == reserved.stripe_refund_id  # resumed with its key: no second refund
    assert_money_invariants(sandbox, history=history)


def test_worker_killed_mid_event_and_restarted_pays_each_once(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    tmp_path: Path,
) -> None:
    requests = []
    for i in range(3):
        pr = request_payment(connected, call, description=f"Item {i}")
        PaymentRequest.objects.filter(pk=pr.pk).update(receipt_email=f"p{i}@example.test")
        pay_at_stripe(sandbox, pr)
        requests.append(pr)
    for pr in requests:
        body = event_body(stripe_event(sandbox, pr, "payment_intent.succeeded"))
        assert post_webhook(Client(), body).status_code == 200
    # Each event's re-read of its intent is held: the worker is killed inside one.
    _hold(sandbox, "/v1/payment_intents/", "get")
    env = _worker_env(sandbox)
    env["STRIPE_TIMEOUT_SECONDS"] = "60"
    log = tmp_path / "worker.log"
    worker = _spawn_worker(env, log)

    def inside_an_event() -> bool:
        if not StripeEvent.objects.filter(claimed_until__isnull=False).exists():
            return False
        time.sleep(0.5)  # its lease taken, its re-read of the intent held
        return True

    _kill_when(worker, inside_an_event, log)
    sandbox.clear_faults()
    assert not PaymentRequest.objects.filter(status=PaymentStatus.PAID).exists()

    worker = _spawn_worker(env, log)
    try:
        deadline = time.monotonic() + 90
        while StripeEvent.objects.filter(processed_at__isnull=True).exists():
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0, log.read_text()[-3000:]
    finally:
        stop(worker)
    assert PaymentRequest.objects.filter(status=PaymentStatus.PAID).count() == 3
    assert_money_invariants(sandbox, history=history)
