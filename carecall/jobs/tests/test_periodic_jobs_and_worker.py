"""The periodic jobs' one runner (worker, demo, cron) and the worker's threads running them."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from carecall.jobs import schedule
from carecall.jobs.models import PeriodicJob
from carecall.jobs.registry import periodic_jobs
from carecall.jobs.worker import worker_start
from carecall.notifications.models import OutboxEmail

ROOT = Path(__file__).resolve().parents[3]
NAMES = [job.name for job in periodic_jobs()]


def test_each_period_of_each_job_runs_once_however_many_runners_look(db: None) -> None:
    ran: list[str] = []
    now = timezone.now()

    assert schedule.periodic_jobs_run_due(run=lambda job: ran.append(job.name), now=now) == NAMES
    # A second runner (another worker, or cron) looking at the same moment runs nothing.
    assert schedule.periodic_jobs_run_due(run=lambda job: ran.append(job.name), now=now) == []
    later = now + timedelta(minutes=1, seconds=1)
    every_minute = schedule.periodic_jobs_run_due(run=lambda job: ran.append(job.name), now=later)
    assert sorted(every_minute) == ["email_outbox_send", "visits_abandon"]
    assert ran == [*NAMES, *every_minute]
    assert PeriodicJob.objects.get(name="stripe_events_prune").next_run_at == now + timedelta(
        hours=1
    )


def test_a_job_that_raises_does_not_stop_the_others(db: None) -> None:
    ran: list[str] = []

    def run(job: schedule.Job) -> None:
        ran.append(job.name)
        if job.name == "email_outbox_send":
            raise RuntimeError("mail server on fire")

    assert schedule.periodic_jobs_run_due(run=run) == NAMES
    assert ran == NAMES


def test_carecall_jobs_run_sends_the_due_outbox_emails_here_and_now(db: None) -> None:
    waiting = OutboxEmail.objects.create(
        to="someone@example.test",
        subject="Waiting to go",
        text="Sent by the periodic job.",
        next_attempt_at=timezone.now() - timedelta(minutes=1),
    )
    out = io.StringIO()

    call_command("jobs", "run", stdout=out)

    assert "email_outbox_send" in out.getvalue() and "task_results_prune" in out.getvalue()
    waiting.refresh_from_db()
    assert waiting.sent_at is not None
    out = io.StringIO()
    call_command("jobs", "run", stdout=out)
    assert "no job (none due)" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_worker_queues_the_due_jobs_and_its_threads_run_them() -> None:
    waiting = OutboxEmail.objects.create(
        to="someone@example.test",
        subject="Waiting to go",
        text="Sent by the worker.",
        next_attempt_at=timezone.now() - timedelta(minutes=1),
    )
    from django_tasks_db.models import DBTaskResult

    every_job = {job.task_path for job in periodic_jobs()}
    done: set[str] = set()
    worker = worker_start(threads=1, poll_seconds=0.05)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and done != every_job:
            done = set(
                DBTaskResult.objects.filter(status="SUCCESSFUL").values_list("task_path", flat=True)
            )
            time.sleep(0.1)
    finally:
        worker.stop()
    assert done == every_job
    waiting.refresh_from_db()
    assert waiting.sent_at is not None


def test_the_demo_runs_a_worker_in_its_own_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """`carecall demo` serves and works in one process: the worker's announcements reach the
    demo's sockets without Redis. The demo starts it (in threads) just before serving."""
    from carecall import cli
    from carecall.jobs import worker

    started: list[int] = []
    monkeypatch.setattr(worker, "worker_start", lambda *, threads: started.append(threads))
    monkeypatch.setenv("WORKER_THREADS", "3")

    cli._worker_in_process()

    assert started == [3]
    source = Path(cli.__file__).read_text()
    demo_body = source[source.index("def demo()") : source.index("def serve()")]
    assert demo_body.index("_worker_in_process()") < demo_body.index("_serve(")
    assert "_reconcile_every" not in source


def test_each_app_registers_its_own_jobs_and_payments_its_inbox() -> None:
    """The worker knows no feature: notifications, calls, payments and jobs register theirs."""
    from carecall.jobs.registry import inboxes

    assert {job.name: job.task_path.rsplit(".", 2)[0] for job in periodic_jobs()} == {
        "email_outbox_send": "carecall.notifications",
        "visits_abandon": "carecall.calls",
        "payments_reconcile": "carecall.payments",
        "stripe_events_prune": "carecall.payments",
        "task_results_prune": "carecall.jobs",
    }
    assert [inbox.name for inbox in inboxes()] == ["stripe-events"]
