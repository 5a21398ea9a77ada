"""The periodic jobs, and the one runner of them that the worker, the demo and cron share.

`periodic_jobs_run_due` moves each due job's `PeriodicJob.next_run_at` on by a compare-and-set
and hands the job to `run`: the worker enqueues it (a worker thread then runs it), cron's
`carecall jobs run` calls it in place. However many runners look at once, each period of each
job runs once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from carecall.jobs.models import PeriodicJob
from carecall.jobs.registry import Job, inboxes_take, periodic_jobs

__all__ = ["Job", "job_call", "job_enqueue", "jobs_run_once", "periodic_jobs_run_due"]

logger = logging.getLogger(__name__)

# Task results (the queue's rows) are kept this long after they finish, for the admin.
TASK_RESULTS_KEEP = timedelta(days=1)
# A task left "running" this long belonged to a worker that died (its webhook event, if any,
# was queued again by the feeder long ago).
TASK_RESULTS_ABANDONED = timedelta(days=1)


def periodic_jobs_run_due(
    *, run: Callable[[Job], None], now: datetime | None = None, jobs: tuple[Job, ...] = ()
) -> list[str]:
    """Hand every due job to `run` (once per period, whoever else is looking). Returns names."""
    now = now or timezone.now()
    jobs = jobs or periodic_jobs()
    PeriodicJob.objects.bulk_create(
        [PeriodicJob(name=job.name, next_run_at=now) for job in jobs], ignore_conflicts=True
    )
    due = set(
        PeriodicJob.objects.filter(
            name__in=[job.name for job in jobs], next_run_at__lte=now
        ).values_list("name", flat=True)
    )
    ran = []
    for job in jobs:
        if job.name not in due:
            continue
        taken = PeriodicJob.objects.filter(name=job.name, next_run_at__lte=now).update(
            next_run_at=now + job.every, last_run_at=now
        )
        if not taken:
            continue  # another runner took this period
        try:
            run(job)
        except Exception:  # one job going wrong must not stop the others
            logger.exception("periodic job %s failed", job.name)
        ran.append(job.name)
    return ran


def job_enqueue(job: Job) -> None:
    job.task().enqueue()


def job_call(job: Job) -> None:
    job.task().call()


def task_results_prune(*, now: datetime | None = None) -> int:
    """Finished task rows older than TASK_RESULTS_KEEP, and rows a dead worker left running."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    deleted, _by_model = DBTaskResult.objects.filter(
        Q(finished_at__lt=now - TASK_RESULTS_KEEP)
        | Q(status="RUNNING", started_at__lt=now - TASK_RESULTS_ABANDONED)
    ).delete()
    return deleted


def jobs_run_once(*, now: datetime | None = None) -> dict[str, Any]:
    """What cron runs (`carecall jobs run`): take what waits in the registered inboxes (the
    webhook events), as a worker's inbox threads would, and run the due periodic jobs here and
    now."""
    events = 0
    while taken := inboxes_take(now=now):
        events += taken
    return {"events_processed": events, "jobs": periodic_jobs_run_due(run=job_call, now=now)}
