"""Realtime at scale: N calls × 2 sockets of signalling, against a bare relay in the same run.

    .venv/bin/python bench/realtime.py                                  # the full run (~15 min)
    .venv/bin/python bench/realtime.py --calls 200 --seconds 5 --rates 100,400 --idle 0
    .venv/bin/python bench/realtime.py --modes embedded --postgres      # on a throwaway PostgreSQL
    .venv/bin/python bench/realtime.py --part payments                  # payment fan-out
    .venv/bin/python bench/realtime.py --check              # exit 1 if a target is missed

Targets (issue 10): at 400 msg/s one-way p99 ≤ 3× the bare relay's and nothing lost; at 1,000
msg/s nothing lost and p99 ≤ 50 ms; server CPU per message ≤ 5× bare; 2,000 sockets connected in
≤ 5 s; 5,000 idle sockets ≤ 2.5× the bare relay's RSS; Redis with 2 processes p99 ≤ 5× bare;
payment request → patient and paid → clinician p99 ≤ 50 ms under 400 msg/s of signalling.

Set-up: a throwaway database (SQLite in a temporary folder, or `--postgres`), migrated, and N
calls made through CareCall's services: one clinic, one clinician per call, each call a visit the
patient entered (`visit_create`) and the clinician joined (`visit_join`); each clinician gets a
session as signing in makes one. CareCall runs as `carecall serve` (uvicorn, DEBUG off) in its own
process(es); the load comes from `--generators` processes of their own (bench/realtime_load.py),
which open the sockets as the call page does: the patient's by its token URL, the clinician's with
the session cookie, both with the page's Origin. Anchor: a bare `websockets` relay
(bench/realtime_bare.py), driven by the same generators in the same run with the same messages.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import platform
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `python bench/…` puts only bench/ on the path
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from bench.realtime_load import SocketSpec  # noqa: E402
from testsupport.app_processes import healthy  # noqa: E402
from testsupport.processes import log_tail, spawn, stop, wait_until  # noqa: E402
from testsupport.services import free_port  # noqa: E402

MODES = {
    "embedded": "CareCall, 1 process, embedded layer",
    "redis1": "CareCall, 1 process, Redis pub/sub",
    "redis2": "CareCall, 2 processes, Redis pub/sub",
}
TARGET_400_RATIO = 3.0
TARGET_1000_P99_MS = 50.0
TARGET_CPU_RATIO = 5.0
TARGET_CONNECT_S = 5.0  # for 2,000 sockets
TARGET_IDLE_RATIO = 2.5
TARGET_REDIS2_RATIO = 5.0
TARGET_PAYMENT_P99_MS = 50.0


# ----------------------------------------------------------------------------- small helpers


def percentile(values: list[float], p: float) -> float:
    """Nearest rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 100:
        return f"{value:.0f} ms"
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def ratio(value: float | None, anchor: float | None) -> float:
    if value is None or anchor is None or math.isnan(value) or math.isnan(anchor) or anchor <= 0:
        return math.nan
    return value / anchor


def times(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1f}×"


def mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


def raise_open_files() -> int:
    """5,000+ sockets on each side of loopback: the soft limit up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ----------------------------------------------------------------------------- processes


class Server:
    """A server process under test, on a free port, with its CPU and RSS readable."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: Path, log: Path):
        self.name, self.command, self.env, self.cwd, self.log = name, command, env, cwd, log
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, ready: str = "http") -> Server:
        for _attempt in range(3):
            self.port = free_port()
            env = {**self.env, "PORT": str(self.port), "SITE_URL": f"http://{self.host}"}
            command = [c.replace("{port}", str(self.port)) for c in self.command]
            self.process = spawn(command, log=self.log, env=env, cwd=self.cwd)
            check = partial(healthy, f"http://{self.host}") if ready == "http" else self._listening
            try:
                wait_until(check, process=self.process, what=self.name, log=self.log, timeout=60)
                return self
            except RuntimeError:
                stop(self.process)
        raise RuntimeError(f"{self.name} did not start:\n{log_tail(self.log)}")

    def _listening(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, timeout=10)
            self.process = None

    def log_text(self) -> str:
        return log_tail(self.log, chars=4000)

    @property
    def ps(self) -> psutil.Process:
        assert self.process is not None
        return psutil.Process(self.process.pid)

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return float(t.user + t.system)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)


class GeneratorPool:
    """`count` load generator processes (bench/realtime_load.py) and their pipes."""

    def __init__(self, count: int, ping_seconds: float) -> None:
        from bench import realtime_load

        context = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.processes = []
        self.tag = 0
        for _ in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=realtime_load.serve, args=(theirs, ping_seconds), daemon=True
            )
            process.start()
            self.conns.append(ours)
            self.processes.append(process)

    def __len__(self) -> int:
        return len(self.conns)

    def send(self, index: int, command: str, **args: Any) -> int:
        self.tag += 1
        self.conns[index].send((self.tag, command, args))
        return self.tag

    def receive(self, index: int, tag: int, timeout: float = 900) -> Any:
        if not self.conns[index].poll(timeout):
            raise RuntimeError(f"generator {index} did not answer {tag} in {timeout:.0f} s")
        got, (outcome, value) = self.conns[index].recv()
        if got != tag:
            raise RuntimeError(f"generator {index}: answer {got} for request {tag}")
        if outcome != "ok":
            raise RuntimeError(f"generator {index}: {value}")
        return value

    def call(self, index: int, command: str, *, wait: float = 900, **args: Any) -> Any:
        return self.receive(index, self.send(index, command, **args), wait)

    def all(self, command: str, per: list[dict[str, Any]] | None = None, **args: Any) -> list[Any]:
        """The same command to every generator at once; their answers in order."""
        tags = [
            self.send(i, command, **{**args, **(per[i] if per else {})}) for i in range(len(self))
        ]
        return [self.receive(i, tag) for i, tag in enumerate(tags)]

    def cpu(self) -> float:
        return sum(float(x) for x in self.all("cpu"))

    def close(self) -> None:
        for conn in self.conns:
            with suppress(BrokenPipeError, OSError):
                conn.send((0, "quit", {}))
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()


# ----------------------------------------------------------------------------- seeding


@dataclass(frozen=True)
class Call:
    index: int
    clinic_id: int
    visit_id: str
    patient_id: str
    clinician_id: str
    token: str
    session: str  # the clinician's session cookie value


@dataclass
class Deployment:
    """What every CareCall process of the run shares: database, secret, folder, Stripe."""

    folder: Path
    app_root: Path
    database_url: str
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    stripe: dict[str, str] = field(default_factory=dict)

    def environment(self, redis_url: str | None = None) -> dict[str, str]:
        keep = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")
        env = {key: os.environ[key] for key in keep if key in os.environ}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DEBUG="false",  # as `carecall serve` runs (it refuses DEBUG)
            HTTPS="false",  # plain http on loopback: no redirect, no secure-only cookies
            SECRET_KEY=self.secret_key,
            DATABASE_URL=self.database_url,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SITE_URL="http://127.0.0.1:8000",
            EMAIL_URL="memory:",
            CARECALL_VAR_DIR=str(self.folder),
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
            PYTHONPATH=str(self.app_root),
            HOST="127.0.0.1",
            WEB_WORKERS="1",
            # One load generator on loopback is every patient at once: the per-address
            # throttles (docs/rate-limits.md) would refuse it, which is not what is measured.
            RATE_LIMITS="false",
        )
        env.update(self.stripe)
        if redis_url:
            env["REDIS_URL"] = redis_url
        return env

    def carecall(self, name: str, redis_url: str | None) -> Server:
        return Server(
            name,
            [sys.executable, "-m", "carecall.cli", "serve"],
            self.environment(redis_url),
            self.app_root,
            self.folder / f"{name}.log",
        )


def django_setup(deployment: Deployment) -> None:
    """This process's Django, on the run's database (for migrating and seeding only)."""
    os.environ.update(deployment.environment())
    os.environ.pop("REDIS_URL", None)
    if str(deployment.app_root) not in sys.path[:1]:
        sys.path.insert(0, str(deployment.app_root))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def seed(calls: int) -> tuple[list[Call], dict[str, Any]]:
    """`calls` calls through the services, each with its own clinician (and their session)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connections

    from carecall.accounts.models import User
    from carecall.calls import services as calls_services
    from carecall.calls.models import Participant, ParticipantKind
    from carecall.orgs.models import Role
    from carecall.orgs.services import clinic_create, membership_add, organisation_create

    operator = User.objects.create_user("operator@bench.test", None, full_name="Bench Operator")
    operator.is_staff = True
    operator.save()
    organisation = organisation_create(actor=operator, name="Bench Health")
    admin = User.objects.create_user("admin@bench.test", None, full_name="Bench Admin")
    membership_add(user=admin, organisation=organisation, clinic=None, role=Role.ORG_ADMIN)
    clinic = clinic_create(
        actor=admin, organisation=organisation, name="Bench Clinic", timezone="Australia/Sydney"
    )
    made: list[Call] = []
    for i in range(calls):
        clinician = User.objects.create_user(
            f"clinician{i}@bench.test", None, full_name=f"Dr Bench {i}"
        )
        membership_add(
            user=clinician, organisation=organisation, clinic=clinic, role=Role.CLINICIAN
        )
        visit, token = calls_services.visit_create(
            clinic=clinic,
            first_name="Patient",
            last_name=f"Number{i}",
            phone="",
            accepted_terms=True,
        )
        joined = calls_services.visit_join(actor=clinician, visit=visit)
        patient = Participant.objects.get(visit=visit, kind=ParticipantKind.PATIENT)
        # The session signing in makes (django.contrib.auth.login), without hashing a password.
        session = SessionStore()
        session[SESSION_KEY] = str(clinician.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = clinician.get_session_auth_hash()
        session.create()
        assert session.session_key is not None
        made.append(
            Call(
                index=i,
                clinic_id=clinic.pk,
                visit_id=str(visit.pk),
                patient_id=str(patient.pk),
                clinician_id=str(joined.pk),
                token=token,
                session=session.session_key,
            )
        )
    connections.close_all()
    return made, {
        "operator": operator,
        "admin": admin,
        "clinic": clinic,
        "cookie_name": settings.SESSION_COOKIE_NAME,
    }


# ----------------------------------------------------------------------------- sockets


def carecall_specs(calls: list[Call], servers: list[Server], cookie_name: str) -> list[SocketSpec]:
    """Two sockets per call; with two servers, a call's patient and clinician are on different
    ones (alternating), so every signal crosses processes."""
    specs = []
    for call in calls:
        patient_on = servers[call.index % len(servers)]
        clinician_on = servers[(call.index + 1) % len(servers)]
        specs.append(
            SocketSpec(
                call=call.index,
                side="patient",
                url=f"ws://{patient_on.host}/ws/visits/{call.token}/",
                origin=f"http://{patient_on.host}",
                me=call.patient_id,
                peer=call.clinician_id,
            )
        )
        specs.append(
            SocketSpec(
                call=call.index,
                side="clinician",
                url=f"ws://{clinician_on.host}/ws/calls/{call.visit_id}/",
                origin=f"http://{clinician_on.host}",
                me=call.clinician_id,
                peer=call.patient_id,
                cookie=f"{cookie_name}={call.session}",
            )
        )
    return specs


def bare_specs(calls: list[Call], server: Server) -> list[SocketSpec]:
    specs = []
    for call in calls:
        for side, me, peer in (
            ("patient", call.patient_id, call.clinician_id),
            ("clinician", call.clinician_id, call.patient_id),
        ):
            specs.append(
                SocketSpec(
                    call=call.index,
                    side=side,
                    url=f"ws://{server.host}/ws/{me}",
                    origin=f"http://{server.host}",
                    me=me,
                    peer=peer,
                )
            )
    return specs


def split(specs: list[SocketSpec], count: int) -> list[list[SocketSpec]]:
    """Both sockets of a call to the same generator (one clock, one process per call)."""
    parts: list[list[SocketSpec]] = [[] for _ in range(count)]
    for spec in specs:
        parts[spec.call % count].append(spec)
    return parts


@dataclass
class Connected:
    sockets: int
    opened: int
    seconds: float
    p99_s: float
    failures: list[str]


def connect_all(
    pool: GeneratorPool, specs: list[SocketSpec], *, concurrency: int, timeout: float
) -> Connected:
    parts = split(specs, len(pool))
    answers = pool.all(
        "connect",
        per=[{"specs": part} for part in parts],
        concurrency=max(1, concurrency // len(pool)),
        timeout=timeout,
    )
    durations = [d for a in answers for d in a["durations"]]
    return Connected(
        sockets=len(specs),
        opened=sum(a["opened"] for a in answers),
        seconds=max(a["seconds"] for a in answers),
        p99_s=percentile(durations, 99),
        failures=[f for a in answers for f in a["failed"]][:5],
    )


def warm_up(pool: GeneratorPool, specs: list[SocketSpec]) -> None:
    """One call's sockets opened and closed: first-use costs (imports, the first queries) are not
    what the thousandth connection pays."""
    pool.call(0, "connect", specs=specs, concurrency=2, timeout=60)
    pool.call(0, "close_all")


# ----------------------------------------------------------------------------- measuring


@dataclass
class RateResult:
    rate: float
    sent: int
    received: int
    send_failed: int
    delays: list[float]
    cpu_s: float  # server process(es)
    redis_cpu_s: float
    handled: int  # signals delivered + pings answered in the window
    generator_cpu_s: float
    seconds: float
    lag_max_ms: float
    errors: int
    rss: int
    closed: dict[str, int]
    pongs_late: int

    @property
    def lost(self) -> int:
        return self.sent - self.received

    @property
    def p50(self) -> float:
        return percentile(self.delays, 50)

    @property
    def p99(self) -> float:
        return percentile(self.delays, 99)

    @property
    def max(self) -> float:
        return max(self.delays) if self.delays else math.nan

    @property
    def cpu_per_message_ms(self) -> float:
        return self.cpu_s * 1000 / self.handled if self.handled else math.nan


@dataclass
class ModeResult:
    name: str
    label: str
    connected: Connected | None = None
    rss_connected: int = 0
    rates: dict[float, RateResult] = field(default_factory=dict)
    error: str = ""
    profile: list[str] = field(default_factory=list)
    connect_profile: list[str] = field(default_factory=list)
    connect_cpu_s: float = math.nan  # the server processes' CPU while every socket connected


def measure_rate(
    pool: GeneratorPool,
    servers: list[Server],
    extra: list[psutil.Process],
    *,
    run: int,
    rate: float,
    seconds: float,
    drain: float,
    profile_dir: Path | None = None,
) -> RateResult:
    cpu0 = sum(s.cpu() for s in servers)
    extra0 = sum(float(sum(p.cpu_times()[:2])) for p in extra)
    spies = []
    if profile_dir is not None:
        spies = [start_py_spy(s, profile_dir, seconds) for s in servers]
    start_at = time.monotonic() + 0.3
    answers = pool.all(
        "run",
        per=[{"run": run * 10 + i} for i in range(len(pool))],
        rate=rate / len(pool),
        seconds=seconds,
        start_at=start_at,
        drain=drain,
    )
    cpu1 = sum(s.cpu() for s in servers)
    extra1 = sum(float(sum(p.cpu_times()[:2])) for p in extra)
    for spy in spies:
        if spy is not None:
            spy.wait(timeout=seconds + 60)
    status = pool.all("status")
    closed: dict[str, int] = {}
    for s in status:
        for reason, n in s["closed"].items():
            closed[reason] = closed.get(reason, 0) + n
    return RateResult(
        rate=rate,
        sent=sum(a["sent"] for a in answers),
        received=sum(a["received"] for a in answers),
        send_failed=sum(a["send_failed"] for a in answers),
        delays=[d for a in answers for d in a["delays_ms"]],
        cpu_s=cpu1 - cpu0,
        redis_cpu_s=extra1 - extra0,
        handled=sum(a["received"] + a["pongs"] for a in answers),
        generator_cpu_s=sum(a["cpu_seconds"] for a in answers),
        seconds=max(a["seconds"] for a in answers),
        lag_max_ms=max(a["lag_max_ms"] for a in answers),
        errors=sum(a["errors"] for a in answers),
        rss=sum(s.rss() for s in servers),
        closed=closed,
        pongs_late=sum(s["pongs_late"] for s in status),
    )


def run_mode(
    result: ModeResult,
    pool: GeneratorPool,
    servers: list[Server],
    specs: list[SocketSpec],
    args: argparse.Namespace,
    *,
    extra: list[psutil.Process] | None = None,
    profile_dir: Path | None = None,
) -> None:
    print(f"  {result.label}: connecting {len(specs):,} sockets …", flush=True)
    warm_up(pool, specs[:2])
    connect_spies = []
    if profile_dir is not None and args.profile_connect:
        connect_spies = [
            start_py_spy(s, profile_dir, None, name=f"connect-{s.name}") for s in servers
        ]
        time.sleep(1)  # py-spy attaches
    cpu0 = sum(s.cpu() for s in servers)
    result.connected = connect_all(
        pool, specs, concurrency=args.connect_concurrency, timeout=args.connect_timeout
    )
    result.connect_cpu_s = sum(s.cpu() for s in servers) - cpu0
    for spy in connect_spies:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
    if connect_spies and profile_dir is not None:
        result.connect_profile = summarise_profiles(
            profile_dir, [f"connect-{s.name}" for s in servers]
        )
    result.rss_connected = sum(s.rss() for s in servers)
    print(
        f"    {result.connected.opened:,}/{len(specs):,} open in {result.connected.seconds:.1f} s"
        + (f"; failures: {result.connected.failures}" if result.connected.failures else ""),
        flush=True,
    )
    for n, rate in enumerate(args.rates):
        spy_dir = profile_dir if profile_dir is not None and rate == args.profile else None
        r = measure_rate(
            pool,
            servers,
            extra or [],
            run=len(result.rates) + 1 + 100 * n,
            rate=rate,
            seconds=args.seconds,
            drain=args.drain,
            profile_dir=spy_dir,
        )
        result.rates[rate] = r
        print(
            f"    {rate:,.0f} msg/s: p50 {ms(r.p50)} p99 {ms(r.p99)} max {ms(r.max)}, "
            f"lost {r.lost:,}/{r.sent:,}, CPU/msg {ms(r.cpu_per_message_ms)}, "
            f"generators {r.generator_cpu_s / r.seconds * 100:.0f} % of a core",
            flush=True,
        )
        if spy_dir is not None:
            result.profile = summarise_profiles(spy_dir, [s.name for s in servers])
    pool.all("close_all")


# ----------------------------------------------------------------------------- py-spy


def start_py_spy(
    server: Server, folder: Path, seconds: float | None, *, name: str | None = None
) -> subprocess.Popen[bytes] | None:
    """py-spy the server for `seconds` (None: until it is sent SIGINT)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not os.access(spy, os.X_OK):
        print("    (py-spy not installed: `.venv/bin/pip install py-spy` for --profile)")
        return None
    folder.mkdir(parents=True, exist_ok=True)
    assert server.process is not None
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(server.process.pid),
            *([] if seconds is None else ["--duration", str(max(1, int(seconds)))]),
            "--rate",
            "200",
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(folder / f"{name or server.name}.txt"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarise_profiles(folder: Path, names: list[str], top: int = 18) -> list[str]:
    """Collapsed stacks → where the samples are: inclusive share per function (each counted
    once per stack), and the leaf functions (self time)."""
    inclusive: dict[str, int] = {}
    leaf: dict[str, int] = {}
    total = 0
    for name in names:
        path = folder / f"{name}.txt"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = [
                f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")"
                if " (" in f
                else f
                for f in stack.split(";")
            ]
            for frame in set(frames):
                inclusive[frame] = inclusive.get(frame, 0) + n
            leaf[frames[-1]] = leaf.get(frames[-1], 0) + n
    if not total:
        return []
    lines = [
        f"py-spy, {total:,} samples ({folder}):",
        "  inclusive (share of samples with it on the stack):",
    ]
    for frame, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"    {n / total * 100:5.1f} %  {frame}")
    lines.append("  self (leaf frames):")
    for frame, n in sorted(leaf.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"    {n / total * 100:5.1f} %  {frame}")
    return lines


# ----------------------------------------------------------------------------- idle sockets


@dataclass
class IdleResult:
    sockets: int
    opened: int
    seconds: float
    rss_before: int
    rss_after: int

    @property
    def growth(self) -> int:
        return self.rss_after - self.rss_before


def measure_idle(
    pool: GeneratorPool, server: Server, specs: list[SocketSpec], args: argparse.Namespace
) -> IdleResult:
    warm_up(pool, specs[:2])
    time.sleep(1)
    before = server.rss()
    connected = connect_all(
        pool, specs, concurrency=args.connect_concurrency, timeout=args.connect_timeout
    )
    time.sleep(3)
    after = server.rss()
    pool.all("close_all")
    return IdleResult(len(specs), connected.opened, connected.seconds, before, after)


# ----------------------------------------------------------------------------- report


@dataclass
class Target:
    what: str
    holds: bool | None  # None: not measured in this run
    detail: str

    def line(self) -> str:
        verdict = "—   " if self.holds is None else ("PASS" if self.holds else "MISS")
        return f"  {verdict}  {self.what}: {self.detail}"


def report(
    args: argparse.Namespace,
    bare: ModeResult,
    modes: list[ModeResult],
    idle: tuple[IdleResult, IdleResult] | None,
) -> tuple[list[str], list[Target]]:
    lines = []
    for rate in args.rates:
        anchor = bare.rates.get(rate)
        lines.append(
            f"\n  {rate:,.0f} msg/s ({args.calls:,} calls × 2 sockets, {args.seconds:g} s)"
        )
        lines.append(
            f"  {'':<40} {'p50':>9} {'p99':>9} {'max':>9} {'lost':>12} {'CPU/msg':>9} "
            f"{'RSS':>8}   ratios to bare: p99, CPU/msg"
        )
        for m in [bare, *modes]:
            r = m.rates.get(rate)
            if r is None:
                lines.append(f"  {m.label:<40} {m.error or 'not measured'}")
                continue
            lost = f"{r.lost:,}/{r.sent:,}"
            extra = ""
            if m is not bare and anchor is not None:
                extra = (
                    f"   {times(ratio(r.p99, anchor.p99))}, "
                    f"{times(ratio(r.cpu_per_message_ms, anchor.cpu_per_message_ms))}"
                )
            lines.append(
                f"  {m.label:<40} {ms(r.p50):>9} {ms(r.p99):>9} {ms(r.max):>9} {lost:>12} "
                f"{ms(r.cpu_per_message_ms):>9} {mib(r.rss):>8}{extra}"
            )
        for m in [bare, *modes]:
            r = m.rates.get(rate)
            if r is None:
                continue
            notes = [
                f"sent {r.sent / r.seconds:,.0f}/s over {r.seconds:.1f} s",
                f"generators {r.generator_cpu_s / r.seconds * 100:.0f} % of a core",
                f"generator lag max {ms(r.lag_max_ms)}",
            ]
            if r.redis_cpu_s:
                notes.append(f"redis-server {r.redis_cpu_s * 1000 / max(1, r.handled):.2f} ms/msg")
            if r.errors:
                notes.append(f"{r.errors} error messages")
            if r.closed:
                notes.append(f"closed by the server: {r.closed}")
            if r.pongs_late:
                notes.append(f"{r.pongs_late} pongs later than 10 s")
            lines.append(f"    {m.name}: " + ", ".join(notes))
    lines.append(
        "\n  connecting every socket (concurrently, at most "
        f"{args.connect_concurrency} handshakes in flight)"
    )
    base = bare.connected
    for m in [bare, *modes]:
        c = m.connected
        if c is None:
            continue
        rel = "" if m is bare or base is None else f"   {times(ratio(c.seconds, base.seconds))}"
        cpu = m.connect_cpu_s * 1000 / max(1, c.opened)
        if m is not bare and base is not None and c.opened:
            base_cpu = bare.connect_cpu_s * 1000 / max(1, base.opened)
            rel += f", server CPU per socket {cpu:.2f} ms = {times(ratio(cpu, base_cpu))} bare's"
        elif c.opened:
            rel += f"   server CPU per socket {cpu:.2f} ms"
        lines.append(
            f"  {m.label:<40} {c.opened:,}/{c.sockets:,} in {c.seconds:6.2f} s "
            f"(p99 per socket {c.p99_s:.2f} s){rel}"
        )
    if idle is not None:
        b, cc = idle
        lines.append(f"\n  {b.sockets:,} idle sockets: server RSS (before → after, growth)")
        for label, i in (("bare websockets relay", b), ("CareCall, embedded layer", cc)):
            lines.append(
                f"  {label:<40} {mib(i.rss_before)} → {mib(i.rss_after)}, +{mib(i.growth)} "
                f"({i.opened:,} open in {i.seconds:.1f} s)"
            )
        lines.append(
            f"  ratio: growth {times(ratio(cc.growth, b.growth))}, "
            f"total {times(ratio(cc.rss_after, b.rss_after))}"
        )
    for m in modes:
        if m.connect_profile:
            lines.append(f"\n  {m.label}, connecting, " + "\n  ".join(m.connect_profile))
        if m.profile:
            lines.append(f"\n  {m.label}, {args.profile:,.0f} msg/s, " + "\n  ".join(m.profile))
    return lines, targets(args, bare, modes, idle)


def targets(
    args: argparse.Namespace,
    bare: ModeResult,
    modes: list[ModeResult],
    idle: tuple[IdleResult, IdleResult] | None,
) -> list[Target]:
    by = {m.name: m for m in modes}
    out = []
    emb = by.get("embedded")

    def rate_of(m: ModeResult | None, rate: float) -> RateResult | None:
        return m.rates.get(rate) if m is not None else None

    r400, a400 = rate_of(emb, 400), bare.rates.get(400)
    if r400 and a400:
        q = ratio(r400.p99, a400.p99)
        out.append(
            Target(
                "400 msg/s: p99 ≤ 3× bare, nothing lost",
                q <= TARGET_400_RATIO and r400.lost == 0,
                f"p99 {ms(r400.p99)} = {times(q)} bare's {ms(a400.p99)}, lost {r400.lost:,}",
            )
        )
    else:
        out.append(Target("400 msg/s: p99 ≤ 3× bare, nothing lost", None, "not measured"))
    r1000 = rate_of(emb, 1000)
    out.append(
        Target(
            "1,000 msg/s: nothing lost, p99 ≤ 50 ms",
            None if r1000 is None else (r1000.lost == 0 and r1000.p99 <= TARGET_1000_P99_MS),
            "not measured"
            if r1000 is None
            else f"p99 {ms(r1000.p99)}, lost {r1000.lost:,}/{r1000.sent:,}",
        )
    )
    cpu = [
        (rate, ratio(r.cpu_per_message_ms, bare.rates[rate].cpu_per_message_ms))
        for rate, r in (emb.rates.items() if emb else [])
        if rate in bare.rates
    ]
    worst = max(cpu, key=lambda x: x[1] if not math.isnan(x[1]) else math.inf, default=None)
    out.append(
        Target(
            "server CPU per message ≤ 5× bare",
            None if worst is None else worst[1] <= TARGET_CPU_RATIO,
            "not measured"
            if worst is None
            else f"worst {times(worst[1])} (at {worst[0]:,.0f} msg/s)",
        )
    )
    if emb and emb.connected:
        c = emb.connected
        limit = TARGET_CONNECT_S * c.sockets / 2000
        scaled = "" if c.sockets == 2000 else f" (scaled to {c.sockets:,} sockets: ≤ {limit:.1f} s)"
        out.append(
            Target(
                "2,000 sockets connected in ≤ 5 s",
                c.opened == c.sockets and c.seconds <= limit,
                f"{c.opened:,}/{c.sockets:,} in {c.seconds:.1f} s{scaled}",
            )
        )
    else:
        out.append(Target("2,000 sockets connected in ≤ 5 s", None, "not measured"))
    if idle is not None:
        b, cc = idle
        q = ratio(cc.growth, b.growth)
        out.append(
            Target(
                f"{b.sockets:,} idle sockets ≤ 2.5× bare RSS (growth)",
                q <= TARGET_IDLE_RATIO and cc.opened == cc.sockets,
                f"+{mib(cc.growth)} vs +{mib(b.growth)}: {times(q)} "
                f"(totals {mib(cc.rss_after)} vs {mib(b.rss_after)})",
            )
        )
    else:
        out.append(Target("5,000 idle sockets ≤ 2.5× bare RSS", None, "not measured"))
    r2 = by.get("redis2")
    worst2 = None
    for rate, r in r2.rates.items() if r2 else []:
        if rate in bare.rates:
            q = ratio(r.p99, bare.rates[rate].p99)
            if worst2 is None or q > worst2[1] or math.isnan(q):
                worst2 = (rate, q, r.lost)
    lost2 = sum(r.lost for r in r2.rates.values()) if r2 else 0
    out.append(
        Target(
            "Redis, 2 processes: p99 ≤ 5× bare, nothing lost",
            None if worst2 is None else (worst2[1] <= TARGET_REDIS2_RATIO and lost2 == 0),
            "not measured"
            if worst2 is None
            else f"worst p99 ratio {times(worst2[1])} (at {worst2[0]:,.0f} msg/s), lost {lost2:,}",
        )
    )
    return out


# ----------------------------------------------------------------------------- the parts


def realtime_part(args: argparse.Namespace, stack: ExitStack, folder: Path) -> list[Target]:
    deployment = make_deployment(args, stack, folder)
    need = max(args.calls, math.ceil(args.idle / 2))
    # The generators first: they are spawned with this process's sys.path, which django_setup
    # changes when --app-root names another tree (with a `bench` of its own).
    pool = GeneratorPool(args.generators, args.ping_seconds)
    stack.callback(pool.close)
    started = time.perf_counter()
    django_setup(deployment)
    calls, seeded = seed(need)
    print(f"  seeded {need:,} calls in {time.perf_counter() - started:.0f} s", flush=True)
    active = calls[: args.calls]

    bare = ModeResult("bare", "bare websockets relay (anchor)")
    relay = bare_relay(folder).start(ready="tcp")
    try:
        run_mode(bare, pool, [relay], bare_specs(active, relay), args)
    finally:
        relay.stop()

    modes: list[ModeResult] = []
    redis_url = None
    if any(m.startswith("redis") for m in args.modes):
        from testsupport.redis_server import throwaway_redis

        redis_url = stack.enter_context(throwaway_redis())
    profile_dir = (
        ROOT / "var" / "bench-realtime" / time.strftime("%Y%m%d-%H%M%S")
        if args.profile or args.profile_connect
        else None
    )
    for name in args.modes:
        result = ModeResult(name, MODES[name])
        modes.append(result)
        count = 2 if name == "redis2" else 1
        servers = [
            deployment.carecall(f"{name}-{i}", redis_url if name != "embedded" else None)
            for i in range(count)
        ]
        try:
            for s in servers:
                s.start()
            extra = [p for p in psutil.Process().children() if p.name() == "redis-server"]
            run_mode(
                result,
                pool,
                servers,
                carecall_specs(active, servers, seeded["cookie_name"]),
                args,
                extra=extra if name != "embedded" else [],
                profile_dir=profile_dir / name if profile_dir else None,
            )
        except Exception as error:  # one mode failing must not hide the others' figures
            result.error = f"failed: {type(error).__name__}: {str(error)[:300]}"
            print(f"    {result.error}\n{servers[0].log_text() if servers else ''}", flush=True)
            pool.all("close_all")
        finally:
            for s in servers:
                s.stop()

    idle = None
    if args.idle:
        idle_calls = calls[: math.ceil(args.idle / 2)]
        print(f"  idle: {len(idle_calls) * 2:,} sockets, bare then CareCall …", flush=True)
        relay = bare_relay(folder).start(ready="tcp")
        try:
            b = measure_idle(pool, relay, bare_specs(idle_calls, relay), args)
        finally:
            relay.stop()
        server = deployment.carecall("idle", None).start()
        try:
            c = measure_idle(
                pool, server, carecall_specs(idle_calls, [server], seeded["cookie_name"]), args
            )
        finally:
            server.stop()
        idle = (b, c)

    lines, found = report(args, bare, modes, idle)
    print("\n".join(lines))
    return found


def bare_relay(folder: Path) -> Server:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return Server(
        "bare-relay",
        [sys.executable, str(ROOT / "bench" / "realtime_bare.py"), "--port", "{port}"],
        env,
        ROOT,
        folder / "bare-relay.log",
    )


def make_deployment(args: argparse.Namespace, stack: ExitStack, folder: Path) -> Deployment:
    if args.postgres:
        from testsupport.postgres import throwaway_cluster

        url = stack.enter_context(throwaway_cluster())
    else:
        url = f"sqlite:///{folder / 'carecall.sqlite3'}"
    return Deployment(folder=folder, app_root=args.app_root, database_url=url)


def header(args: argparse.Namespace) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"CareCall realtime bench ({args.part}): {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {'PostgreSQL' if args.postgres else 'SQLite'}, "
        f"{args.generators} generator processes, load average {load}, app {args.app_root}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["realtime", "payments"], default="realtime")
    parser.add_argument("--calls", type=int, default=1000, help="calls, 2 sockets each (1,000)")
    parser.add_argument("--seconds", type=float, default=10, help="seconds of sending per rate")
    parser.add_argument(
        "--rates", default="100,400,1000", help="total signals per second, comma-separated"
    )
    parser.add_argument(
        "--modes",
        default=None,
        help="embedded,redis1,redis2 (realtime default: all; payments default: embedded)",
    )
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL cluster")
    parser.add_argument("--idle", type=int, default=5000, help="idle sockets for RSS (0: skip)")
    parser.add_argument("--generators", type=int, default=2, help="load generator processes")
    parser.add_argument("--drain", type=float, default=5, help="seconds to wait for stragglers")
    parser.add_argument("--ping-seconds", type=float, default=25, help="call.js pings (25 s)")
    parser.add_argument("--connect-concurrency", type=int, default=200)
    parser.add_argument("--connect-timeout", type=float, default=300)
    parser.add_argument("--payments", type=int, default=40, help="payment requests (payments)")
    parser.add_argument("--background", type=float, default=400, help="msg/s under payments")
    parser.add_argument(
        "--profile",
        type=float,
        default=None,
        metavar="RATE",
        help="py-spy the CareCall process(es) during this rate (var/bench-realtime/)",
    )
    parser.add_argument(
        "--profile-connect",
        action="store_true",
        help="py-spy the CareCall process(es) while the sockets connect (var/bench-realtime/)",
    )
    parser.add_argument(
        "--app-root",
        type=Path,
        default=ROOT,
        help="the CareCall source tree to serve and seed with (e.g. `git archive` of a commit)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    args.rates = [float(r) for r in args.rates.split(",") if r]
    if args.modes is None:
        args.modes = ["embedded", "redis1", "redis2"] if args.part == "realtime" else ["embedded"]
    else:
        args.modes = [m for m in args.modes.split(",") if m]
    unknown = set(args.modes) - set(MODES)
    if unknown:
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    args.app_root = args.app_root.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    files = raise_open_files()
    print(header(args) + f", open files {files:,}", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="carecall-realtime-"))
    try:
        with ExitStack() as stack:
            if args.part == "payments":
                from bench.realtime_payments import payments_part

                found = payments_part(args, stack, folder)
            else:
                found = realtime_part(args, stack, folder)
    finally:
        if args.keep:
            print(f"  kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print("\n  targets:")
    for target in found:
        print(target.line())
    missed = any(t.holds is False for t in found)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
