"""Stripe webhooks: how fast CareCall acknowledges them, and how soon its workers process them.

```sh
.venv/bin/python bench/webhooks.py                   # 3,000 events, 16 senders, lag at 100/s
.venv/bin/python bench/webhooks.py --events 1000 --lag-seconds 5
```

Offline: stripe_sandbox in this process, three servers as uvicorn child processes, SQLite files
in a temporary folder (deleted at the end). Part 1 — **ack**: 16 concurrent senders (keep-alive
connections) POST the same 3,000 signed `payment_intent.succeeded` events (a fifth for real
payment requests, paid at the sandbox; the rest for intents CareCall never made) to
(a) a bare Starlette app doing verify + unique insert, (b) the barest Django view doing the same
(bench/webhooks_bare.py), (c) CareCall's `/payments/stripe/webhook/`. Then `carecall worker`
processes CareCall's backlog, is killed with SIGKILL after a second and started again: lost
(acknowledged, never processed) and double-processed (a payment with two "paid" entries or two
receipts) are counted. Part 2 — **lag**: with the worker running, events at 100/s; the lag is
the row's `processed_at - received_at` (both the server's clock).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testsupport.app_processes import AppConfig, AppProcess, WorkerProcess  # noqa: E402
from testsupport.processes import spawn, stop, wait_until  # noqa: E402
from testsupport.services import free_port  # noqa: E402

TARGET_ACK_VS_DJANGO = 1.0  # events/s at least the barest Django view's
TARGET_P99_VS_STARLETTE = 1.5  # p99 ack at most 1.5x bare Starlette's
TARGET_LAG_P99_S = 1.0


def sign(body: bytes, secret: str) -> str:
    t = int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def send_all(port: int, path: str, bodies: list[bytes], secret: str, senders: int) -> dict:
    """`senders` threads, one keep-alive connection each, taking the next event off a shared
    list; returns events/s over the wall time, the latencies and the statuses."""
    signed = [(body, sign(body, secret)) for body in bodies]
    cursor = iter(range(len(signed)))
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            body, signature = signed[index]
            start = time.perf_counter()
            conn.request(
                "POST",
                path,
                body,
                {"Content-Type": "application/json", "Stripe-Signature": signature},
            )
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run) for _ in range(senders)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    return {"rate": len(bodies) / wall, "latencies": latencies, "statuses": statuses}


def warm(port: int, path: str, bodies: list[bytes], secret: str) -> None:
    send_all(port, path, bodies, secret, 4)


def bare_server(kind: str, folder: Path, secret: str) -> tuple[Any, int]:
    port = free_port()
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env.update(WEBHOOK_SECRET=secret, BARE_DB=str(folder / f"{kind}.sqlite3"), PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "uvicorn", f"bench.webhooks_bare:{kind}_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"]
    command += ["--log-level", "warning"]
    log = folder / f"{kind}.log"
    process = spawn(command, log=log, env=env, cwd=ROOT)
    wait_until(lambda: _listening(port), process=process, what=kind, log=log, timeout=30)
    return process, port


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--real", type=float, default=0.2, help="share for real payments")
    parser.add_argument("--rate", type=float, default=100.0, help="events/s for the lag part")
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--lag-only", action="store_true", help="only the lag part")
    parser.add_argument("--lag-real", type=float, default=0.5, help="lag: share of real payments")
    parser.add_argument(
        "--profile", metavar="DIR", help="py-spy the web and worker processes during the lag"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="carecall-webhooks-"))
    try:
        return run(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace, folder: Path) -> int:
    import stripe_sandbox

    secret = "whsec_" + secrets.token_hex(24)
    sandbox = stripe_sandbox.start(port=0, webhook_endpoints=[])
    stripe_env = {
        "STRIPE_SECRET_KEY": "sk_test_carecall_bench",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_carecall_bench",
        "STRIPE_CONNECT_CLIENT_ID": "ca_carecall_bench",
        "STRIPE_WEBHOOK_SECRET": secret,
        "STRIPE_API_BASE": sandbox.url,
        "STRIPE_CONNECT_BASE": sandbox.url,
        "STRIPE_JS_URL": sandbox.shim_url,
        "STRIPE_MAX_NETWORK_RETRIES": "0",
        "WORKER_THREADS": os.environ.get("BENCH_WORKER_THREADS", "2"),
        "WEBHOOK_EVENT_LEASE_SECONDS": "5",
        "LOG_LEVEL": "WARNING",
        # As in production: DEBUG on would keep every query and rescan static files per request.
        "DEBUG": "false",
        "HTTPS": "false",
    }
    config = AppConfig(
        database_url=f"sqlite:///{folder / 'carecall.sqlite3'}", var_dir=folder, extra=stripe_env
    )
    os.environ.update(config.environment())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    print(f"seeding (sandbox {sandbox.url}) …", flush=True)
    real_events, unknown_events = seed(sandbox, secret, args)
    bodies = real_events + unknown_events
    random.Random(1).shuffle(bodies)
    lag_real, lag_unknown = seed_lag(sandbox, args)

    results: dict[str, dict] = {}
    warmup = [_unknown_body("evt_warm_" + str(i), "acct_none") for i in range(200)]
    if args.lag_only:
        return lag_only(config, secret, lag_real + lag_unknown, args, sandbox)
    for kind in ("starlette", "django"):
        process, port = bare_server(kind, folder, secret)
        try:
            warm(port, "/hook", warmup, secret)
            results[kind] = send_all(port, "/hook", bodies, secret, args.senders)
        finally:
            stop(process)

    app = AppProcess(config, name="carecall")
    app.spawn()
    app.wait_ready()
    worker = WorkerProcess(config)
    try:
        path = "/payments/stripe/webhook/"
        warm(app.port, path, warmup, secret)
        spies = _spy(args, [("ack-web", app.process)])
        results["carecall"] = send_all(app.port, path, bodies, secret, args.senders)
        _unspy(spies)
        lost, doubled, recovery = process_backlog(worker, len(bodies) + len(warmup))
        lag = measure_lag(app.port, path, secret, lag_real + lag_unknown, args, worker)
    finally:
        worker.stop()
        app.stop()
        sandbox.stop()
    return report(results, lost, doubled, recovery, lag, args)


def _spy(args: argparse.Namespace, processes: list[tuple[str, Any]]) -> list[Any]:
    """py-spy (raw stacks, for flame graphs) on each process, with --profile."""
    spies = []
    for name, process in processes if args.profile else []:
        out = Path(args.profile) / f"{name}.txt"
        command = ["py-spy", "record", "-p", str(process.pid), "-f", "raw", "-o", str(out)]
        spies.append(spawn(command, log=Path(args.profile) / f"{name}.log", cwd=ROOT))
    return spies


def _unspy(spies: list[Any]) -> None:
    for spy in spies:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)


def lag_only(
    config: AppConfig, secret: str, bodies: list[bytes], args: argparse.Namespace, sandbox: Any
) -> int:
    app = AppProcess(config, name="carecall")
    app.spawn()
    app.wait_ready()
    worker = WorkerProcess(config)
    worker.spawn()
    spies = []
    try:
        time.sleep(3)  # the worker's start
        spies = _spy(args, [("web", app.process), ("worker", worker.process)])
        lag = measure_lag(app.port, "/payments/stripe/webhook/", secret, bodies, args, worker)
    finally:
        _unspy(spies)
        worker.stop()
        app.stop()
        sandbox.stop()
    print(
        f"lag, {lag['sent_rate']:.0f} events/s: p50 {lag['p50'] * 1000:.0f} ms, "
        f"p99 {lag['p99'] * 1000:.0f} ms, max {lag['max'] * 1000:.0f} ms; lost {lag['lost']:.0f},"
        f" processed twice {lag['doubled']:.0f}"
    )
    return 0


def _unknown_body(event_id: str, account: str) -> bytes:
    intent = {
        "id": "pi_" + uuid.uuid4().hex[:24],
        "object": "payment_intent",
        "amount": 8500,
        "currency": "aud",
        "status": "succeeded",
    }
    return _event_body(event_id, account, intent)


def _event_body(event_id: str, account: str, intent: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "api_version": "2024-06-20",
            "type": "payment_intent.succeeded",
            "account": account,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": intent},
        }
    ).encode()


_TEMPLATE: dict[str, Any] = {}


def _requests(sandbox: Any, count: int, tag: str) -> list[bytes]:
    """`count` payment requests cloned from a demo one, each with its own PaymentIntent made
    and paid at the sandbox (as Stripe.js would), and the succeeded event for it."""
    import stripe
    from django.conf import settings

    from carecall.payments.models import PaymentRequest, PaymentStatus

    if not _TEMPLATE:
        from carecall.orgs.demo import demo_seed
        from carecall.payments.demo import demo_payments_seed

        demo_seed()
        demo_payments_seed()
        template = PaymentRequest.objects.exclude(payment_intent_id=None).first()
        assert template is not None
        _TEMPLATE["pr"] = template
    template = _TEMPLATE["pr"]
    client = stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": sandbox.url, "connect": sandbox.url},
        max_network_retries=0,
    )
    account = template.stripe_account_id
    bodies = []
    for i in range(count):
        intent = client.v1.payment_intents.create(
            {"amount": template.amount, "currency": template.currency.lower()},
            {"stripe_account": account},
        )
        paid = client.v1.payment_intents.confirm(
            intent.id, {"payment_method": "pm_card_visa"}, {"stripe_account": account}
        )
        pr = PaymentRequest(
            visit_id=template.visit_id,
            clinic_id=template.clinic_id,
            payer_id=template.payer_id,
            requested_by_id=template.requested_by_id,
            amount=template.amount,
            currency=template.currency,
            description=f"Bench {tag} {i}",
            reference=f"CC-{tag[:1].upper()}{i:05d}",
            stripe_account_id=account,
            payment_intent_id=intent.id,
            status=PaymentStatus.REQUESTED,
            receipt_email=f"bench{tag}{i}@example.test",
            expires_at=template.expires_at,
        )
        pr.save()
        bodies.append(_event_body(f"evt_{tag}_{i}", account, dict(paid.to_dict())))
    return bodies


def seed(sandbox: Any, secret: str, args: argparse.Namespace) -> tuple[list[bytes], list[bytes]]:
    real = int(args.events * args.real)
    account = "acct_1HarbourGPxx"
    unknown = [_unknown_body(f"evt_unknown_{i}", account) for i in range(args.events - real)]
    return _requests(sandbox, real, "ack"), unknown


def seed_lag(sandbox: Any, args: argparse.Namespace) -> tuple[list[bytes], list[bytes]]:
    count = int(args.rate * args.lag_seconds)
    real = int(count * args.lag_real)
    unknown = [_unknown_body(f"evt_lag_unknown_{i}", "acct_x") for i in range(count - real)]
    return _requests(sandbox, real, "lag"), unknown


def _counts() -> tuple[int, int, int]:
    from django.db.models import Count

    from carecall.audit.models import AuditEntry
    from carecall.notifications.models import OutboxEmail
    from carecall.payments.audit_actions import PaymentAction
    from carecall.payments.models import StripeEvent

    waiting = StripeEvent.objects.filter(processed_at__isnull=True).count()
    paid_twice = (
        AuditEntry.objects.filter(action=PaymentAction.PAYMENT_PAID)
        .values("target")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    receipts_twice = (
        OutboxEmail.objects.filter(tag__startswith="payments.receipt:")
        .values("tag")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    return waiting, paid_twice, receipts_twice


def process_backlog(worker: WorkerProcess, total: int) -> tuple[int, int, float]:
    """The worker takes the acknowledged backlog, is killed mid-way and started again."""
    from carecall.payments.models import StripeEvent

    assert StripeEvent.objects.count() == total, StripeEvent.objects.count()
    worker.spawn()
    # Killed once it is under way (a tenth of the backlog done, or 30 s at most).
    under_way = time.monotonic() + 30
    while time.monotonic() < under_way:
        if StripeEvent.objects.filter(processed_at__isnull=False).count() >= total // 10:
            break
        time.sleep(0.05)
    assert worker.process is not None
    os.kill(worker.process.pid, signal.SIGKILL)
    worker.process.wait(10)
    done_at_kill = StripeEvent.objects.filter(processed_at__isnull=False).count()
    start = time.monotonic()
    worker.spawn()
    deadline = time.monotonic() + 300
    while StripeEvent.objects.filter(processed_at__isnull=True).exists():
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    recovery = time.monotonic() - start
    waiting, paid_twice, receipts_twice = _counts()
    print(f"  backlog: {done_at_kill} of {total} processed when the worker was killed", flush=True)
    return waiting, paid_twice + receipts_twice, recovery


def measure_lag(
    port: int, path: str, secret: str, bodies: list[bytes], args: argparse.Namespace, worker: Any
) -> dict[str, float]:
    from carecall.payments.models import StripeEvent

    random.Random(2).shuffle(bodies)
    start = time.perf_counter() + 0.1
    senders = 8  # paced: event i leaves at start + i / rate, whichever sender is free

    def run(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for index in range(offset, len(bodies), senders):
            pause = start + index / args.rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            body = bodies[index]
            headers = {"Content-Type": "application/json", "Stripe-Signature": sign(body, secret)}
            conn.request("POST", path, body, headers)
            conn.getresponse().read()
        conn.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [json.loads(body)["id"] for body in bodies]
    deadline = time.monotonic() + 60
    rows = StripeEvent.objects.filter(event_id__in=ids)
    while rows.filter(processed_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    lags = [
        (processed - received).total_seconds()
        for received, processed in rows.exclude(processed_at=None).values_list(
            "received_at", "processed_at"
        )
        if processed is not None
    ]
    _waiting, paid_twice, receipts_twice = _counts()
    return {
        "p50": percentile(lags, 50),
        "p99": percentile(lags, 99),
        "max": max(lags),
        "lost": len(ids) - len(lags),
        "doubled": paid_twice + receipts_twice,
        "sent_rate": len(bodies) / (time.perf_counter() - start),
    }


def report(
    results: dict[str, dict],
    lost: int,
    doubled: int,
    recovery: float,
    lag: dict[str, float],
    args: argparse.Namespace,
) -> int:
    star, dj, cc = results["starlette"], results["django"], results["carecall"]
    p99 = {name: percentile(r["latencies"], 99) * 1000 for name, r in results.items()}
    p50 = {name: percentile(r["latencies"], 50) * 1000 for name, r in results.items()}
    print(
        f"\nack: {args.events} signed payment_intent.succeeded events, {args.senders} senders "
        f"({args.real:.0%} for real payment requests)"
    )
    print(
        "                                      events/s   p50 ack   p99 ack   "
        "events/s vs Starlette | vs Django   p99 vs Starlette"
    )
    labels = {
        "starlette": "anchor: bare Starlette verify+insert",
        "django": "anchor: barest Django view",
        "carecall": "CareCall /payments/stripe/webhook/",
    }
    for name, r in results.items():
        print(
            f"  {labels[name]:<36} {r['rate']:8.0f} {p50[name]:7.1f} ms {p99[name]:7.1f} ms"
            f"   {r['rate'] / star['rate']:8.2f}x          | {r['rate'] / dj['rate']:5.2f}x"
            f"        {p99[name] / p99['starlette']:5.2f}x     {r['statuses']}"
        )
    print(
        f"  worker killed mid-backlog and restarted: lost {lost}, processed twice {doubled} "
        f"(backlog done {recovery:.1f} s after the restart)"
    )
    print(
        f"\nprocessing lag with the worker running, {lag['sent_rate']:.0f} events/s: "
        f"p50 {lag['p50'] * 1000:.0f} ms, p99 {lag['p99'] * 1000:.0f} ms, "
        f"max {lag['max'] * 1000:.0f} ms; lost {lag['lost']:.0f}, processed twice "
        f"{lag['doubled']:.0f}"
    )
    checks = [
        ("ack events/s >= 1.0x the barest Django view", cc["rate"] / dj["rate"] >= 1.0),
        ("p99 ack <= 1.5x bare Starlette's", p99["carecall"] <= 1.5 * p99["starlette"]),
        ("processing lag p99 <= 1 s at 100 events/s", lag["p99"] <= TARGET_LAG_P99_S),
        (
            "nothing lost, nothing processed twice",
            lost + doubled + lag["lost"] + lag["doubled"] == 0,
        ),
    ]
    for text, ok in checks:
        print(f"  target: {text}: {'HOLDS' if ok else 'MISSED'}")
    return 1 if args.check and not all(ok for _text, ok in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
