"""The payments list, the report and the CSV with 100,000 payment requests, against /healthz.

    .venv/bin/python bench/payments_page.py                  # 100,000 requests, 15 runs each
    .venv/bin/python bench/payments_page.py --rows 20000 --runs 30
    .venv/bin/python bench/payments_page.py --explain        # + the slowest query's plan per page
    .venv/bin/python bench/payments_page.py --check          # exit 1 if a target is missed
    .venv/bin/python bench/payments_page.py --postgres       # a throwaway PostgreSQL instead

Target (the issue, "Performance"): the payments page and the report answer in under 200 ms with
100,000 payment requests in the database, with no query per row.

Anchor: `GET /healthz` through the same test client, signed in the same way: the whole Django
stack (middleware, session, one `SELECT 1`) with nothing of the payments pages in it. A bare
`SELECT COUNT(*)` over the payment requests is printed too, as the floor of touching the table.

Set-up: a throwaway SQLite database in a temporary folder (deleted at the end), migrated with
`call_command`, then one organisation with two clinics and 100,000 payment requests (90 % at
Harbour GP, the clinic measured; the rest at Northside) spread over two years, each with the
visit and patient participant it needs and its audit entries (requested; paid; refunded: what a
payment's timeline reads), inserted with `bulk_create` in batches. Every page is
requested through `django.test.Client` as Harbour's clinic admin (the org pages as the org
admin), once to warm up and then `--runs` times; the runs of all pages are interleaved so that
drift on a busy machine hits each page alike.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `python bench/…` puts only bench/ on the path
    sys.path.insert(0, str(ROOT))

TARGET_MS = 200.0
BATCH = 5_000

FIRST_NAMES = ["Ava", "Liam", "Mia", "Noah", "Zoe", "Jack", "Ella", "Leo", "Ruby", "Oscar"]
LAST_NAMES = ["Wilson", "Chen", "Kowalski", "Singh", "Murphy", "Nguyen", "Haddad", "Fraser"]
SERVICES = [
    ("Initial physiotherapy assessment", 12000),
    ("Follow-up session", 8500),
    ("Exercise program review", 6500),
    ("Standard consultation", 8500),
    ("Long consultation", 15050),
]
# (status, share): roughly what a clinic's history looks like.
STATUS_MIX = [
    ("paid", 0.75),
    ("partially_refunded", 0.04),
    ("refunded", 0.03),
    ("requested", 0.06),
    ("cancelled", 0.06),
    ("expired", 0.04),
    ("failed", 0.02),
]


def _environment(folder: Path, database_url: str | None) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DEBUG"] = "true"
    os.environ["SECRET_KEY"] = "bench-" + secrets.token_urlsafe(48)
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["EMAIL_URL"] = "memory:"
    os.environ["CARECALL_VAR_DIR"] = str(folder)
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.pop("REDIS_URL", None)


@dataclass
class Seeded:
    organisation_id: int
    harbour_id: int
    clinic_admin: Any
    org_admin: Any
    clinician_id: int
    rows: int
    audit_rows: int
    detail_url: str  # a refunded payment of Harbour GP: its detail page and timeline
    seconds: float


@contextmanager
def _created_at_as_given(model: Any, name: str = "created_at") -> Iterator[None]:
    """bulk_create with our own created_at (auto_now_add would stamp every row with now)."""
    created = model._meta.get_field(name)
    created.auto_now_add = False
    try:
        yield
    finally:
        created.auto_now_add = True


def seed(rows: int) -> Seeded:
    from django.db import transaction

    from carecall.accounts.models import User
    from carecall.audit.models import AuditEntry
    from carecall.calls.models import Participant, ParticipantKind, Visit
    from carecall.orgs.models import Clinic, Membership, Organisation, Role
    from carecall.payments.audit_actions import PaymentAction
    from carecall.payments.models import PaymentRequest

    started = time.perf_counter()
    rng = random.Random(2026)
    organisation = Organisation.objects.create(name="Bench Health", slug="bench-health")
    harbour = Clinic.objects.create(organisation=organisation, name="Harbour GP", slug="harbour")
    northside = Clinic.objects.create(
        organisation=organisation, name="Northside Physio", slug="northside"
    )
    org_admin = User.objects.create_user("olivia@bench.test", "x" * 20, full_name="Olivia Org")
    Membership.objects.create(user=org_admin, organisation=organisation, role=Role.ORG_ADMIN)
    admin = User.objects.create_user("hannah@bench.test", "x" * 20, full_name="Hannah Admin")
    Membership.objects.create(
        user=admin, organisation=organisation, clinic=harbour, role=Role.CLINIC_ADMIN
    )
    clinicians: dict[int, list[Any]] = {harbour.pk: [], northside.pk: []}
    for i in range(8):
        clinic = harbour if i < 6 else northside
        user = User.objects.create_user(
            f"clinician{i}@bench.test", "x" * 20, full_name=f"Clinician {i}"
        )
        Membership.objects.create(
            user=user, organisation=organisation, clinic=clinic, role=Role.CLINICIAN
        )
        clinicians[clinic.pk].append(user)

    statuses = [s for s, _share in STATUS_MIX]
    weights = [share for _s, share in STATUS_MIX]
    now = datetime.now().astimezone()
    span = timedelta(days=730).total_seconds()
    made = 0
    audit_rows = 0
    detail_url = ""
    with _created_at_as_given(PaymentRequest), _created_at_as_given(AuditEntry, "at"):
        while made < rows:
            n = min(BATCH, rows - made)
            visits, patients, requests = [], [], []
            entries: list[Any] = []
            for i in range(made, made + n):
                clinic = harbour if i % 10 else northside
                moment = now - timedelta(seconds=rng.random() * span)
                visit = Visit(
                    clinic=clinic,
                    token_hash=secrets.token_hex(32),
                    first_name=rng.choice(FIRST_NAMES),
                    last_name=rng.choice(LAST_NAMES),
                    status="done",
                )
                patient = Participant(
                    visit=visit,
                    kind=ParticipantKind.PATIENT,
                    display_name=f"{visit.first_name} {visit.last_name}",
                )
                status = rng.choices(statuses, weights)[0]
                description, amount = rng.choice(SERVICES)
                paid = status in ("paid", "partially_refunded", "refunded")
                refunded = (
                    amount
                    if status == "refunded"
                    else 2000
                    if status == "partially_refunded"
                    else 0
                )
                requests.append(
                    PaymentRequest(
                        reference=f"CC-{i:08d}",
                        visit=visit,
                        clinic=clinic,
                        payer=patient,
                        requested_by=rng.choice(clinicians[clinic.pk]),
                        stripe_account_id="acct_bench",
                        amount=amount,
                        currency="AUD",
                        description=description,
                        status=status,
                        payment_intent_id=f"pi_bench_{i:08d}",
                        card_brand="visa" if paid else "",
                        card_last4="4242" if paid else "",
                        amount_refunded=refunded,
                        created_at=moment,
                        expires_at=moment + timedelta(days=7),
                        paid_at=moment + timedelta(minutes=rng.randint(1, 30)) if paid else None,
                    )
                )
                visits.append(visit)
                patients.append(patient)
            for pr in requests:
                # What the services write on the audit trail, so the detail page's timeline
                # reads its few rows among all of them.
                clinician = pr.requested_by
                moments: list[tuple[datetime, str, str, Any, str]] = [
                    (
                        pr.created_at,
                        PaymentAction.PAYMENT_REQUESTED,
                        f"{clinician.full_name} <{clinician.email}>",
                        clinician,
                        f"Requested AUD {pr.amount / 100:.2f} from {pr.payer.display_name}",
                    )
                ]
                if pr.paid_at:
                    moments.append(
                        (pr.paid_at, PaymentAction.PAYMENT_PAID, "Stripe", None, "Paid, visa 4242")
                    )
                if pr.amount_refunded and pr.paid_at:
                    moments.append(
                        (
                            pr.paid_at + timedelta(days=1),
                            PaymentAction.PAYMENT_REFUNDED,
                            "Hannah Admin <hannah@bench.test>",
                            admin,
                            f"Refund of AUD {pr.amount_refunded / 100:.2f} on {pr.reference}",
                        )
                    )
                elif pr.status in ("cancelled", "expired"):
                    ended = (
                        PaymentAction.PAYMENT_CANCELLED
                        if pr.status == "cancelled"
                        else PaymentAction.PAYMENT_EXPIRED
                    )
                    moments.append((pr.expires_at, ended, "CareCall", None, pr.status))
                for when, action, label, actor, summary in moments:
                    entries.append(
                        AuditEntry(
                            at=when,
                            action=action,
                            actor=actor,
                            actor_label=label,
                            organisation=organisation,
                            clinic=pr.clinic,
                            target=f"payment:{pr.pk}",
                            summary=summary,
                        )
                    )
                if not detail_url and pr.clinic == harbour and pr.status == "partially_refunded":
                    detail_url = f"/clinics/{harbour.pk}/payments/{pr.pk}/"
                # bulk_create skips save(): fill what PaymentRequest.save() keeps.
                pr.search_text = " ".join(
                    [
                        pr.reference,
                        pr.description,
                        pr.visit.first_name,
                        pr.visit.last_name,
                        pr.payer.display_name,
                    ]
                ).lower()
                pr.paid_on = (
                    pr.paid_at.astimezone(zoneinfo.ZoneInfo(pr.clinic.timezone)).date()
                    if pr.paid_at
                    else None
                )
            with transaction.atomic():
                Visit.objects.bulk_create(visits)
                Participant.objects.bulk_create(patients)
                PaymentRequest.objects.bulk_create(requests)
                AuditEntry.objects.bulk_create(entries)
            made += n
            audit_rows += len(entries)
            if sys.stdout.isatty():
                print(f"\r  seeded {made:,} / {rows:,} payment requests", end="", flush=True)
    if sys.stdout.isatty():
        print()
    from django.db import connection, reset_queries

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what a long-lived database has: planner statistics
    # With DEBUG on, Django keeps the last 9,000 queries; once seeding has filled that log,
    # CaptureQueriesContext would count 0 queries for every page.
    reset_queries()
    return Seeded(
        organisation_id=organisation.pk,
        harbour_id=harbour.pk,
        clinic_admin=admin,
        org_admin=org_admin,
        clinician_id=clinicians[harbour.pk][0].pk,
        rows=rows,
        audit_rows=audit_rows,
        detail_url=detail_url,
        seconds=time.perf_counter() - started,
    )


@dataclass
class Measure:
    label: str
    run: Callable[[], tuple[int, int]]  # -> (status, queries)
    target: bool = False
    times: list[float] = field(default_factory=list)
    queries: int = 0
    slowest_sql: str = ""
    slowest_ms: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p90(self) -> float:
        ordered = sorted(self.times)
        return ordered[max(0, -(-len(ordered) * 9 // 10) - 1)]  # nearest rank


def _page(client: Any, url: str, params: dict[str, str] | None = None) -> Callable[[], Any]:
    def run() -> tuple[int, int]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, params or {})
            if response.streaming:
                b"".join(response.streaming_content)
        if response.status_code != 200:
            raise SystemExit(f"{url} {params}: HTTP {response.status_code}")
        run.last_queries = captured.captured_queries  # type: ignore[attr-defined]
        return response.status_code, len(captured.captured_queries)

    return run


def _count_star() -> tuple[int, int]:
    from carecall.payments.models import PaymentRequest

    PaymentRequest.objects.count()
    return 200, 1


def explain(sql: str) -> list[str]:
    from django.db import connection

    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        return [str(row[-1]) for row in cursor.fetchall()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--explain", action="store_true", help="print the slowest query's plan")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite database folder")
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL cluster instead of SQLite"
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="carecall-bench-payments-"))
    with ExitStack() as stack:
        database_url = None
        if args.postgres:
            from testsupport.postgres import throwaway_cluster

            database_url = stack.enter_context(throwaway_cluster())
        _environment(folder, database_url)
        return _run(args, folder)


def _run(args: argparse.Namespace, folder: Path) -> int:
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client

        call_command("migrate", verbosity=0)
        from django.db import connection

        where = f"SQLite in {folder}" if connection.vendor == "sqlite" else "PostgreSQL"
        print(f"CareCall payments pages · {where} · {args.runs} runs each")
        seeded = seed(args.rows)
        print(
            f"  seeding {seeded.rows:,} requests and {seeded.audit_rows:,} audit entries "
            f"took {seeded.seconds:.1f} s"
        )
        admin = Client()
        admin.force_login(seeded.clinic_admin)
        org = Client()
        org.force_login(seeded.org_admin)
        clinic = f"/clinics/{seeded.harbour_id}/payments/"
        org_url = f"/orgs/{seeded.organisation_id}/payments/"
        today = datetime.now().date()
        month = {
            "from": (today - timedelta(days=30)).isoformat(),
            "to": today.isoformat(),
        }
        measures = [
            Measure("anchor: GET /healthz (signed in)", _page(admin, "/healthz")),
            Measure("floor: SELECT COUNT(*) of the requests", _count_star),
            Measure("list, first page", _page(admin, clinic), target=True),
            Measure(
                "list, status + clinician + 30 days",
                _page(
                    admin,
                    clinic,
                    {**month, "status": "paid", "clinician": str(seeded.clinician_id)},
                ),
                target=True,
            ),
            Measure(
                "list, text search 'wilson'", _page(admin, clinic, {"q": "wilson"}), target=True
            ),
            Measure(
                "list, page 1,000 (deep; not the target)", _page(admin, clinic, {"page": "1000"})
            ),
            Measure("report, all time", _page(admin, clinic + "report/"), target=True),
            Measure("report, 30 days", _page(admin, clinic + "report/", month), target=True),
            Measure(
                "payment detail + timeline (refunded)",
                _page(admin, seeded.detail_url),
                target=True,
            ),
            Measure("org list, first page", _page(org, org_url), target=True),
            Measure("org report, all time", _page(org, org_url + "report/"), target=True),
            Measure("CSV, 30 days", _page(admin, clinic + "export.csv", month)),
        ]
        whole_csv = Measure(
            f"CSV, everything (~{args.rows * 9 // 10:,} rows)", _page(admin, clinic + "export.csv")
        )
        for m in measures:  # warm-up, not measured: templates, caches, SQLite's page cache
            m.run()
        for _ in range(args.runs):
            for m in measures:
                started = time.perf_counter()
                _status, m.queries = m.run()
                m.times.append((time.perf_counter() - started) * 1000)
                last = getattr(m.run, "last_queries", [])
                for q in last:
                    ms = float(q.get("time") or 0) * 1000
                    if ms > m.slowest_ms:
                        m.slowest_ms, m.slowest_sql = ms, q["sql"]
        for _ in range(3):
            started = time.perf_counter()
            _status, whole_csv.queries = whole_csv.run()
            whole_csv.times.append((time.perf_counter() - started) * 1000)

        anchor = measures[0].median
        print()
        print(f"  {'':44} {'median':>9} {'p90':>9} {'queries':>8}  ratio to anchor (medians)")
        missed = []
        for m in [*measures, whole_csv]:
            flag = ""
            if m.target:
                ok = m.p90 < TARGET_MS
                flag = "" if ok else "  ← over 200 ms"
                if not ok:
                    missed.append(m)
            print(
                f"  {m.label:44} {m.median:7.1f} ms {m.p90:7.1f} ms {m.queries:8d}"
                f"  {m.median / anchor:7.1f}×{flag}"
            )
        print(
            f"  target: payments pages and report < {TARGET_MS:.0f} ms (p90) with "
            f"{seeded.rows:,} requests: " + ("HOLDS" if not missed else f"MISSED ({len(missed)})")
        )
        if args.explain:
            print()
            for m in measures[2:]:
                if not m.slowest_sql:
                    continue
                print(f"  {m.label}: slowest query {m.slowest_ms:.1f} ms")
                print("    " + m.slowest_sql[:600])
                for line in explain(m.slowest_sql):
                    print(f"      plan: {line}")
        return 1 if (args.check and missed) else 0
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"  database kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
