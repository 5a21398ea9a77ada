"""The worker: inbox threads, one task thread (django-tasks-db's `Worker`) and a scheduler.

- Each inbox thread takes a registered inbox (carecall/jobs/registry.py; payments registers
  the webhook inbox, `stripe_events_process_due`) in batches: one write claims up to 20 rows,
  PostgreSQL's `SKIP LOCKED` giving each thread and process its own. With nothing waiting it
  looks again every POLL_SECONDS (0.1 s: a read on a partial index), at once when this process
  stored a row (the demo).
- The task thread runs the queued periodic jobs (django-tasks' database queue).
- The scheduler thread hands the due periodic jobs to that queue (`periodic_jobs_run_due`,
  every second).

`carecall worker` runs one in the foreground; `carecall demo` and the browser tests run one in
threads of the web process (`worker_start`)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field

from django.db import close_old_connections, connection

from carecall.jobs.registry import Inbox, inboxes, inboxes_take

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.1
SCHEDULE_SECONDS = 1.0
# How often an idle thread lets go of a connection that broke or grew too old (Django does it
# per request; per poll it would cost PostgreSQL a health-check query each time).
CONNECTION_CHECK_SECONDS = 10.0


@dataclass
class RunningWorker:
    """A worker running in threads of this process; `stop()` lets running work finish."""

    threads: list[threading.Thread] = field(default_factory=list)
    task_workers: list[object] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def stop(self, timeout: float = 30) -> None:
        self.stopping.set()
        for task_worker in self.task_workers:
            task_worker.running = False  # type: ignore[attr-defined]
        for inbox in inboxes():
            inbox.arrived.set()
        for thread in self.threads:
            thread.join(timeout)

    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)


def _inbox(inbox: Inbox, stopping: threading.Event, poll_seconds: float) -> None:
    next_check = time.monotonic() + CONNECTION_CHECK_SECONDS
    try:
        while not stopping.is_set():
            try:
                taken = inbox.take()
            except Exception:  # the database was busy or away: log it, try again shortly
                logger.exception("worker inbox %s", inbox.name)
                close_old_connections()
                stopping.wait(1.0)
                continue
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + CONNECTION_CHECK_SECONDS
                close_old_connections()
            # A full batch: more may wait, go on at once; else wait for the next poll.
            if taken < inbox.batch and inbox.arrived.wait(poll_seconds):
                inbox.arrived.clear()
    finally:
        connection.close()


def _scheduler(stopping: threading.Event) -> None:
    from carecall.jobs.schedule import job_enqueue, periodic_jobs_run_due

    try:
        while not stopping.is_set():
            try:
                periodic_jobs_run_due(run=job_enqueue)
            except Exception:  # the database was busy or away: log it, try again shortly
                logger.exception("worker scheduler")
            finally:
                close_old_connections()
            stopping.wait(SCHEDULE_SECONDS)
    finally:
        connection.close()


def _task_thread(task_worker: object) -> None:
    try:
        task_worker.run()  # type: ignore[attr-defined]
    finally:
        connection.close()


def worker_start(
    *,
    threads: int = 2,
    poll_seconds: float = POLL_SECONDS,
    periodic: bool = True,
    name: str = "worker",
) -> RunningWorker:
    """Start a worker in threads of this process (Django must be set up): `threads` inbox
    threads, and unless `periodic` is off the scheduler and one task thread for the jobs."""
    from django_tasks_db.management.commands.db_worker import Worker

    running = RunningWorker()
    for inbox in inboxes():
        for index in range(threads):
            running.threads.append(
                threading.Thread(
                    target=_inbox,
                    args=(inbox, running.stopping, poll_seconds),
                    name=f"{name}-{inbox.name}-{index}",
                    daemon=True,
                )
            )
    if periodic:
        prefix = f"{socket.gethostname()}:{os.getpid()}:{name}"
        task_worker = Worker(
            queue_names=["default"],
            interval=max(poll_seconds, 0.5),
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"{prefix}:tasks"[-64:],
            excluded_queue_names=[],
        )
        running.task_workers.append(task_worker)
        running.threads.append(
            threading.Thread(
                target=_task_thread, args=(task_worker,), name=f"{name}-tasks", daemon=True
            )
        )
        running.threads.append(
            threading.Thread(
                target=_scheduler,
                args=(running.stopping,),
                name=f"{name}-scheduler",
                daemon=True,
            )
        )
    for thread in running.threads:
        thread.start()
    return running


def worker_drain(*, limit: int = 10_000) -> int:
    """Run, in this thread, everything waiting or due until nothing is left (tests): the
    inbox's due events, batch by batch as an inbox thread takes them, then each ready task as
    the task thread claims it. Unlike `Worker.run` it never closes the connection, so it works
    inside a test's transaction. Returns how many events and tasks were taken."""
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction

    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="drain",
        excluded_queue_names=[],
    )
    ran = 0
    while ran < limit:
        taken = inboxes_take()
        if taken:
            ran += taken
            continue
        with exclusive_transaction():
            task_result = DBTaskResult.objects.ready().get_locked()
            if task_result is not None:
                task_result.claim("drain")
        if task_result is None:
            break
        worker.run_task(task_result)
        ran += 1
    return ran
