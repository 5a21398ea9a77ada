"""`bench/realtime.py --part payments`: payment events reaching the call's sockets under signalling.

Under `--background` msg/s of signalling (the same generators and sockets as the realtime part),
one payment at a time, each on another call:

- **request → patient**: the clinician's POST to `/clinics/<id>/visits/<id>/payments/` (session
  cookie, CSRF cookie and header, Origin: what the call page's fetch sends) until the `payment`
  message with status `requested` reaches the patient's socket;
- the patient's page then reads its request (`GET /v/<token>/payments/<id>/`) and confirms the
  PaymentIntent at stripe_sandbox with the publishable key, as Stripe.js does (not timed);
- **paid → clinician, by complete**: (even payments) the patient's POST to `…/complete/` until the
  `payment` with status `paid` reaches the clinician's socket;
- **paid → clinician, by webhook**: (odd payments) a `payment_intent.succeeded` event holding the
  intent as the sandbox returns it, signed with the webhook secret as Stripe signs, POSTed to
  `/payments/stripe/webhook/`, until `paid` reaches the clinician's socket.

Anchor: a bare Starlette app under uvicorn (bench/realtime_bare.py) carrying the same background
signalling on its own relay, whose `POST /publish/<participant>` writes a row to SQLite and sends
the `payment` message to that participant's socket: once to the patient, once to the clinician.

stripe_sandbox runs as its own process (`python -m stripe_sandbox`); no network is needed.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import math
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.realtime import (
    MODES,
    ROOT,
    TARGET_PAYMENT_P99_MS,
    Call,
    Deployment,
    GeneratorPool,
    Server,
    Target,
    bare_specs,
    carecall_specs,
    connect_all,
    django_setup,
    make_deployment,
    ms,
    percentile,
    ratio,
    seed,
    times,
    warm_up,
)

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
WAIT_S = 30.0


def http(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _DIRECT.open(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw[:300].decode(errors="replace")


@dataclass
class Lane:
    """One kind of event: the times from the action to the socket, and what never came."""

    label: str
    delays_ms: list[float] = field(default_factory=list)
    missing: int = 0
    http_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, started: float, answered: float, arrived: float | None) -> None:
        self.http_ms.append((answered - started) * 1000)
        if arrived is None:
            self.missing += 1
        else:
            self.delays_ms.append((arrived - started) * 1000)

    @property
    def p99(self) -> float:
        return percentile(self.delays_ms, 99)


@dataclass
class Background:
    sent: int
    received: int
    delays: list[float]

    @property
    def lost(self) -> int:
        return self.sent - self.received


@dataclass
class PaymentsResult:
    label: str
    lanes: list[Lane]
    background: Background | None = None
    error: str = ""


# ----------------------------------------------------------------------------- set-up


def sandbox_server(app_root: Path, folder: Path) -> Server:
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PYTHONPATH"] = str(app_root)
    return Server(
        "stripe-sandbox",
        [sys.executable, "-m", "stripe_sandbox", "--port", "{port}"],
        env,
        app_root,
        folder / "stripe-sandbox.log",
    )


def connect_stripe(seeded: dict[str, Any]) -> None:
    """The clinic gets the Payment Gateway app (requested, approved by the operator) and connects
    a sandbox account through OAuth, as a clinic admin does (what `carecall demo` does)."""
    from django.conf import settings

    import stripe_sandbox
    from carecall.clinic_apps.models import AppKey
    from carecall.clinic_apps.services import app_request_create, app_request_decide
    from carecall.payments.demo import _oauth_code
    from carecall.payments.services import connection

    admin, operator, clinic = seeded["admin"], seeded["operator"], seeded["clinic"]
    request = app_request_create(
        actor=admin,
        organisation=clinic.organisation,
        app=AppKey.PAYMENT_GATEWAY,
        clinics=[clinic],
        manager_name=admin.get_full_name(),
        manager_email=admin.email,
        manager_phone="02 9000 0000",
        accept_terms=True,
    )
    app_request_decide(actor=operator, request=request, approve=True, comment="bench")
    _state, url = connection.connection_start(
        actor=admin,
        clinic=clinic,
        redirect_uri=f"{settings.SITE_URL}/payments/stripe/oauth/callback/",
    )
    connection.connection_complete(
        actor=admin, clinic=clinic, code=_oauth_code(url, stripe_sandbox.HARBOUR_GP_ACCOUNT_ID)
    )
    from django.db import connections

    connections.close_all()


def signed_event(intent: dict[str, Any], account: str, secret: str) -> tuple[bytes, str]:
    """A `payment_intent.succeeded` event as Stripe sends it to a Connect endpoint, signed."""
    event = {
        "id": "evt_bench" + secrets.token_hex(10),
        "object": "event",
        "api_version": "2023-08-16",
        "account": account,
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "payment_intent.succeeded",
        "data": {"object": intent},
    }
    payload = json.dumps(event).encode()
    stamp = int(time.time())
    signature = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256)
    return payload, f"t={stamp},v1={signature.hexdigest()}"


# ----------------------------------------------------------------------------- one side


def background_start(pool: GeneratorPool, rate: float, run: int) -> None:
    pool.all(
        "background_start", per=[{"run": run + i} for i in range(len(pool))], rate=rate / len(pool)
    )


def background_stop(pool: GeneratorPool, run: int, drain: float) -> Background:
    answers = pool.all(
        "background_stop", per=[{"run": run + i} for i in range(len(pool))], drain=drain
    )
    return Background(
        sent=sum(a["sent"] for a in answers),
        received=sum(a["received"] for a in answers),
        delays=[d for a in answers for d in a["delays_ms"]],
    )


def wait(pool: GeneratorPool, call: Call, side: str, request_id: str, status: str) -> float | None:
    arrived = pool.call(
        call.index % len(pool),
        "wait_payment",
        wait=WAIT_S + 30,
        side=side,
        request_id=request_id,
        status=status,
        timeout=WAIT_S,
    )
    return None if arrived is None else float(arrived)


def bare_samples(pool: GeneratorPool, server: Server, calls: list[Call], count: int) -> list[Lane]:
    to_patient = Lane("bare Starlette: POST → patient's socket")
    to_clinician = Lane("bare Starlette: POST → clinician's socket")
    for k in range(count):
        call = calls[k % len(calls)]
        request_id = str(uuid.uuid4())
        for lane, target, side, status in (
            (to_patient, call.patient_id, "patient", "requested"),
            (to_clinician, call.clinician_id, "clinician", "paid"),
        ):
            body = json.dumps({"id": request_id, "status": status}).encode()
            started = time.monotonic()
            code, _answer = http(
                "POST",
                f"http://{server.host}/publish/{target}",
                body=body,
                headers={"Content-Type": "application/json"},
            )
            answered = time.monotonic()
            if code != 201:
                lane.failures.append(f"{code}")
            lane.add(started, answered, wait(pool, call, side, request_id, status))
    return [to_patient, to_clinician]


def carecall_samples(
    pool: GeneratorPool,
    servers: list[Server],
    calls: list[Call],
    count: int,
    *,
    cookie_name: str,
    deployment: Deployment,
    sandbox: Server,
) -> list[Lane]:
    request_lane = Lane("request: clinician's POST → patient's socket")
    complete_lane = Lane("paid by complete: patient's POST → clinician's socket")
    webhook_lane = Lane("paid by webhook: signed POST → clinician's socket")
    csrf = secrets.token_hex(16)  # a 32-character CSRF secret, as cookie and header
    stripe_api = f"http://{sandbox.host}"
    for k in range(count):
        call = calls[k % len(calls)]
        patient_on = servers[call.index % len(servers)]
        clinician_on = servers[(call.index + 1) % len(servers)]
        started = time.monotonic()
        code, answer = http(
            "POST",
            f"http://{clinician_on.host}/clinics/{call.clinic_id}/visits/{call.visit_id}/payments/",
            body=json.dumps({"amount": "85.00", "description": "Standard consultation"}).encode(),
            headers={
                "Content-Type": "application/json",
                "Cookie": f"{cookie_name}={call.session}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
                "Origin": f"http://{clinician_on.host}",
            },
        )
        answered = time.monotonic()
        if code != 201:
            request_lane.failures.append(f"{code} {str(answer)[:200]}")
            continue
        request_id = answer["request"]["id"]
        request_lane.add(started, answered, wait(pool, call, "patient", request_id, "requested"))

        # The patient's page reads its request and Stripe.js confirms it (not timed).
        payer = f"http://{patient_on.host}/v/{call.token}/payments/{request_id}/"
        code, mine = http("GET", payer, headers={"Origin": f"http://{patient_on.host}"})
        if code != 200:
            complete_lane.failures.append(f"payer GET {code} {str(mine)[:200]}")
            continue
        intent_id = mine["client_secret"].split("_secret_")[0]
        account = mine["stripe_account"]
        code, confirmed = http(
            "POST",
            f"{stripe_api}/v1/payment_intents/{intent_id}/confirm",
            body=urllib.parse.urlencode(
                {"payment_method": "pm_card_visa", "client_secret": mine["client_secret"]}
            ).encode(),
            headers={
                "Authorization": f"Bearer {mine['publishable_key'] or 'pk_test_bench'}",
                "Stripe-Account": account,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        if code != 200:
            complete_lane.failures.append(f"confirm {code} {str(confirmed)[:200]}")
            continue

        if k % 2 == 0:
            started = time.monotonic()
            code, answer = http(
                "POST",
                payer + "complete/",
                headers={
                    "Cookie": f"csrftoken={csrf}",
                    "X-CSRFToken": csrf,
                    "Origin": f"http://{patient_on.host}",
                },
            )
            answered = time.monotonic()
            if code != 200:
                complete_lane.failures.append(f"complete {code} {str(answer)[:200]}")
            complete_lane.add(started, answered, wait(pool, call, "clinician", request_id, "paid"))
        else:
            code, intent = http(
                "GET",
                f"{stripe_api}/v1/payment_intents/{intent_id}",
                headers={
                    "Authorization": f"Bearer {deployment.stripe['STRIPE_SECRET_KEY']}",
                    "Stripe-Account": account,
                },
            )
            payload, signature = signed_event(
                intent, account, deployment.stripe["STRIPE_WEBHOOK_SECRET"]
            )
            started = time.monotonic()
            code, answer = http(
                "POST",
                f"http://{servers[0].host}/payments/stripe/webhook/",
                body=payload,
                headers={"Content-Type": "application/json", "Stripe-Signature": signature},
            )
            answered = time.monotonic()
            if code != 200:
                webhook_lane.failures.append(f"webhook {code} {str(answer)[:200]}")
            webhook_lane.add(started, answered, wait(pool, call, "clinician", request_id, "paid"))
    return [request_lane, complete_lane, webhook_lane]


# ----------------------------------------------------------------------------- the part


def payments_part(args: argparse.Namespace, stack: ExitStack, folder: Path) -> list[Target]:
    deployment = make_deployment(args, stack, folder)
    sandbox = sandbox_server(args.app_root, folder).start(ready="tcp")
    stack.callback(sandbox.stop)
    deployment.stripe = {
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
        "STRIPE_CONNECT_CLIENT_ID": "ca_bench",
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(24),
        "STRIPE_API_BASE": f"http://{sandbox.host}",
        "STRIPE_CONNECT_BASE": f"http://{sandbox.host}",
        "STRIPE_JS_URL": f"http://{sandbox.host}/v3/",
    }
    pool = GeneratorPool(args.generators, args.ping_seconds)  # before django_setup: sys.path
    stack.callback(pool.close)
    started = time.perf_counter()
    django_setup(deployment)
    calls, seeded = seed(args.calls)
    connect_stripe(seeded)
    print(f"  seeded {len(calls):,} calls in {time.perf_counter() - started:.0f} s", flush=True)
    samples = calls[: max(1, min(len(calls), args.payments))]

    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env["BENCH_BARE_DB"] = str(folder / "bare.sqlite3")
    bare_app = Server(
        "bare-starlette",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.realtime_bare:starlette_app",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--lifespan",
            "off",
            "--log-level",
            "warning",
        ],
        env,
        ROOT,
        folder / "bare-starlette.log",
    ).start(ready="tcp")
    print(f"  bare Starlette: {len(calls) * 2:,} sockets, {args.background:,.0f} msg/s …")
    try:
        bare = PaymentsResult("bare Starlette (anchor)", [])
        specs = bare_specs(calls, bare_app)
        warm_up(pool, specs[:2])
        connect_all(pool, specs, concurrency=args.connect_concurrency, timeout=args.connect_timeout)
        background_start(pool, args.background, 1000)
        time.sleep(1)
        bare.lanes = bare_samples(pool, bare_app, samples, args.payments)
        bare.background = background_stop(pool, 1000, args.drain)
        pool.all("close_all")
    finally:
        bare_app.stop()

    redis_url = None
    if any(m.startswith("redis") for m in args.modes):
        from testsupport.redis_server import throwaway_redis

        redis_url = stack.enter_context(throwaway_redis())
    results: list[PaymentsResult] = []
    for n, name in enumerate(args.modes):
        servers = [
            deployment.carecall(f"payments-{name}-{i}", redis_url if name != "embedded" else None)
            for i in range(2 if name == "redis2" else 1)
        ]
        result = PaymentsResult(MODES[name], [])
        results.append(result)
        print(f"  {result.label}: {len(calls) * 2:,} sockets, {args.background:,.0f} msg/s …")
        try:
            for s in servers:
                s.start()
            specs = carecall_specs(calls, servers, seeded["cookie_name"])
            warm_up(pool, specs[:2])
            connect_all(
                pool, specs, concurrency=args.connect_concurrency, timeout=args.connect_timeout
            )
            run = 2000 + 100 * n
            background_start(pool, args.background, run)
            time.sleep(1)
            result.lanes = carecall_samples(
                pool,
                servers,
                samples,
                args.payments,
                cookie_name=seeded["cookie_name"],
                deployment=deployment,
                sandbox=sandbox,
            )
            result.background = background_stop(pool, run, args.drain)
        except Exception as error:
            result.error = f"failed: {type(error).__name__}: {str(error)[:300]}"
            print(f"    {result.error}\n{servers[0].log_text()}", flush=True)
        finally:
            pool.all("close_all")
            for s in servers:
                s.stop()

    lines, found = payments_report(args, bare, results)
    print("\n".join(lines))
    return found


def payments_report(
    args: argparse.Namespace, bare: PaymentsResult, results: list[PaymentsResult]
) -> tuple[list[str], list[Target]]:
    lines = [
        f"\n  payment events under {args.background:,.0f} msg/s of signalling "
        f"({args.calls:,} calls × 2 sockets; {args.payments} payments, one at a time)",
        f"  {'':<56} {'p50':>9} {'p99':>9} {'max':>9} {'never':>6} {'HTTP p50':>9}   ratio p99",
    ]

    def lane_line(lane: Lane, anchor: Lane | None) -> str:
        q = times(ratio(lane.p99, anchor.p99)) if anchor else ""
        return (
            f"  {lane.label:<56} {ms(percentile(lane.delays_ms, 50)):>9} {ms(lane.p99):>9} "
            f"{ms(max(lane.delays_ms) if lane.delays_ms else math.nan):>9} {lane.missing:>6} "
            f"{ms(percentile(lane.http_ms, 50)):>9}   {q}"
            + (f"\n      failures: {lane.failures[:3]}" if lane.failures else "")
        )

    for lane in bare.lanes:
        lines.append(lane_line(lane, None))
    anchors: list[Lane | None] = list(bare.lanes) if len(bare.lanes) == 2 else [None, None]
    found: list[Target] = []
    for result in results:
        lines.append(f"  {result.label}" + (f": {result.error}" if result.error else ""))
        for i, lane in enumerate(result.lanes):
            lines.append(lane_line(lane, anchors[0] if i == 0 else anchors[1]))
            found.append(
                Target(
                    f"{result.label}, {lane.label.split(':')[0]}: p99 ≤ 50 ms",
                    bool(lane.delays_ms)
                    and lane.p99 <= TARGET_PAYMENT_P99_MS
                    and lane.missing == 0
                    and not lane.failures,
                    f"p99 {ms(lane.p99)} over {len(lane.delays_ms)}, never arrived "
                    f"{lane.missing}, failed {len(lane.failures)}",
                )
            )
    lines.append("  background signalling meanwhile:")
    for result in [bare, *results]:
        b = result.background
        if b is not None:
            lines.append(
                f"    {result.label:<44} p50 {ms(percentile(b.delays, 50))}, "
                f"p99 {ms(percentile(b.delays, 99))}, lost {b.lost:,}/{b.sent:,}"
            )
    return lines, found
