"""`carecall worker` as a process: killed with SIGKILL in the middle of a burst of webhook events
and started again, it loses no event and processes none twice (one receipt per payment)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.models import Count
from django.test import Client

import stripe_sandbox
from carecall.audit.models import AuditEntry
from carecall.notifications.models import OutboxEmail
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.models import PaymentRequest, PaymentStatus, StripeEvent
from carecall.payments.tests.helpers import (
    Call,
    event_body,
    pay_at_stripe,
    post_webhook,
    request_payment,
    stripe_event,
)
from testsupport.processes import spawn, stop
from testsupport.world import World

ROOT = Path(__file__).resolve().parents[3]


def _worker_env(sandbox: stripe_sandbox.SandboxServer) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="true",
        SECRET_KEY="worker-test-" + "k" * 50,
        DATABASE_URL=_database_url(),
        EMAIL_URL="memory:",
        STRIPE_SECRET_KEY=django_settings.STRIPE_SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=django_settings.STRIPE_WEBHOOK_SECRET,
        STRIPE_API_BASE=sandbox.url,
        STRIPE_CONNECT_BASE=sandbox.url,
        STRIPE_MAX_NETWORK_RETRIES="0",
        WEBHOOK_EVENT_LEASE_SECONDS="2",
        WORKER_THREADS="2",
        PYTHONUNBUFFERED="1",
    )
    return env


def _database_url() -> str:
    """The test database, as the child process's DATABASE_URL."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    from urllib.parse import quote

    auth = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def _spawn_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return spawn([sys.executable, "-m", "carecall.cli", "worker"], log=log, env=env, cwd=ROOT)


@pytest.mark.django_db(transaction=True)
def test_carecall_worker_killed_mid_burst_and_restarted_loses_nothing_and_doubles_nothing(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer, tmp_path: Path
) -> None:
    requests: list[PaymentRequest] = []
    for i in range(15):
        pr = request_payment(connected, call, description=f"Item {i}")
        PaymentRequest.objects.filter(pk=pr.pk).update(receipt_email=f"p{i}@example.test")
        pay_at_stripe(sandbox, pr)
        requests.append(pr)
    bodies = [event_body(stripe_event(sandbox, pr, "payment_intent.succeeded")) for pr in requests]
    template = stripe_event(sandbox, requests[0], "payment_intent.succeeded")
    for n in range(150):
        unknown = dict(template, id=f"evt_unknown_{n}")
        unknown["data"] = {"object": {**template["data"]["object"], "id": f"pi_other_{n}"}}
        bodies.insert(n % len(bodies), event_body(unknown))
    for body in bodies:
        assert post_webhook(Client(), body).status_code == 200
    total = StripeEvent.objects.count()
    assert total == 165

    env = _worker_env(sandbox)
    log = tmp_path / "worker.log"
    worker = _spawn_worker(env, log)
    try:
        deadline = time.monotonic() + 60
        while StripeEvent.objects.filter(processed_at__isnull=False).count() < 20:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            assert worker.poll() is None, log.read_text()[-3000:]
            time.sleep(0.01)
        os.kill(worker.pid, signal.SIGKILL)  # mid-burst: tasks and leases left half done
        worker.wait(10)
        assert StripeEvent.objects.filter(processed_at__isnull=True).exists()

        worker = _spawn_worker(env, log)
        deadline = time.monotonic() + 90
        while StripeEvent.objects.filter(processed_at__isnull=True).exists():
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0, log.read_text()[-3000:]
    finally:
        stop(worker)

    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == total
    for pr in requests:
        pr.refresh_from_db()
        assert pr.status == PaymentStatus.PAID
    paid = AuditEntry.objects.filter(action=PaymentAction.PAYMENT_PAID)
    per_payment: Any = paid.values("target").annotate(n=Count("id"))
    assert sorted(row["n"] for row in per_payment) == [1] * len(requests)
    receipts = OutboxEmail.objects.filter(tag__startswith="payments.receipt:")
    assert receipts.count() == len(requests)
    assert "stopping" in log.read_text()
