"""The worker: task threads (django-tasks-db's `Worker`) plus one scheduler thread.

- Each task thread claims one queued task at a time (PostgreSQL: `SELECT … FOR UPDATE SKIP
  LOCKED`, so several threads and processes take different tasks; SQLite: an exclusive
  transaction, so they take turns) and runs it.
- The scheduler thread feeds the webhook inbox to the queue (`stripe_events_enqueue_due`,
  every WORKER_FEED_SECONDS, at once when this process stored an event) and hands the due
  periodic jobs to the queue (`periodic_jobs_run_due`, every second).

`carecall worker` runs one in the foreground; `carecall demo` and the browser tests run one in
threads of the web process (`worker_start`)."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field

from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)

FEED_SECONDS = 0.2
SCHEDULE_SECONDS = 1.0


@dataclass
class RunningWorker:
    """A worker running in threads of this process; `stop()` lets running tasks finish."""

    threads: list[threading.Thread] = field(default_factory=list)
    task_workers: list[object] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def stop(self, timeout: float = 30) -> None:
        from carecall.payments.webhooks import inbox_arrived

        self.stopping.set()
        for task_worker in self.task_workers:
            task_worker.running = False  # type: ignore[attr-defined]
        inbox_arrived.set()
        for thread in self.threads:
            thread.join(timeout)

    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)


def _scheduler(stopping: threading.Event, feed_seconds: float, periodic: bool) -> None:
    import time

    from carecall.jobs.schedule import job_enqueue, periodic_jobs_run_due
    from carecall.payments.webhooks import inbox_arrived, stripe_events_enqueue_due

    next_schedule = 0.0
    try:
        while not stopping.is_set():
            inbox_arrived.clear()
            try:
                stripe_events_enqueue_due()
                if periodic and time.monotonic() >= next_schedule:
                    next_schedule = time.monotonic() + SCHEDULE_SECONDS
                    periodic_jobs_run_due(run=job_enqueue)
            except Exception:  # the database was busy or away: log it, try again shortly
                logger.exception("worker scheduler")
            finally:
                close_old_connections()
            inbox_arrived.wait(feed_seconds)
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
    poll_seconds: float = 0.1,
    feed_seconds: float = FEED_SECONDS,
    periodic: bool = True,
    name: str = "worker",
) -> RunningWorker:
    """Start a worker in threads of this process (Django must be set up)."""
    from django_tasks_db.management.commands.db_worker import Worker

    running = RunningWorker()
    prefix = f"{socket.gethostname()}:{os.getpid()}:{name}"
    for index in range(threads):
        task_worker = Worker(
            queue_names=["default"],
            interval=poll_seconds,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"{prefix}:{index}"[-64:],
            excluded_queue_names=[],
        )
        running.task_workers.append(task_worker)
        running.threads.append(
            threading.Thread(
                target=_task_thread, args=(task_worker,), name=f"{name}-{index}", daemon=True
            )
        )
    running.threads.append(
        threading.Thread(
            target=_scheduler,
            args=(running.stopping, feed_seconds, periodic),
            name=f"{name}-scheduler",
            daemon=True,
        )
    )
    for thread in running.threads:
        thread.start()
    return running


def worker_drain(*, limit: int = 10_000) -> int:
    """Run, in this thread, everything queued or due until nothing is left (tests and the
    bench): feed the inbox, claim each ready task as a worker does and run it. Unlike
    `Worker.run` it never closes the connection, so it works inside a test's transaction.
    Returns how many tasks ran."""
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction

    from carecall.payments.webhooks import stripe_events_enqueue_due

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
        stripe_events_enqueue_due()
        with exclusive_transaction():
            task_result = DBTaskResult.objects.ready().get_locked()
            if task_result is not None:
                task_result.claim("drain")
        if task_result is None:
            break
        worker.run_task(task_result)
        ran += 1
    return ran
