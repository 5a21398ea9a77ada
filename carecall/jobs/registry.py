"""What each app hands the background worker, registered in its AppConfig.ready() the way
in-call tools, navigation and audit actions are: periodic jobs, and inboxes the worker drains
continuously. The worker, the demo and cron (`carecall jobs run`) read them from here, so
`jobs` knows no feature (import-linter keeps it below every app but core)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Job:
    """A periodic job: every `every`, the task at `task_path` (a django-tasks Task of the app
    that registers it) is queued once, whoever else is looking."""

    name: str
    every: timedelta
    task_path: str

    def task(self) -> Any:
        from django.utils.module_loading import import_string

        return import_string(self.task_path)


@dataclass(frozen=True)
class Inbox:
    """Rows an app stores for later work (payments: Stripe's webhook events). `take` claims and
    processes the due ones in one batch and returns how many it took; a full batch means more
    may wait. `arrived` is set by the app when this process stored a row, so an idle worker
    thread in the same process looks at once instead of at its next poll."""

    name: str
    take: Callable[..., int]  # take(now: datetime | None = None) -> int
    batch: int
    arrived: threading.Event


_jobs: dict[str, Job] = {}
_inboxes: dict[str, Inbox] = {}


def periodic_job_register(job: Job) -> None:
    """Idempotent per name (ready() may run twice in tests); a second job under a taken name
    is a programming error."""
    known = _jobs.get(job.name)
    if known is not None and known != job:
        raise ValueError(f"periodic job {job.name!r} is registered already")
    _jobs[job.name] = job


def periodic_jobs() -> tuple[Job, ...]:
    return tuple(_jobs.values())


def inbox_register(inbox: Inbox) -> None:
    known = _inboxes.get(inbox.name)
    if known is not None and known != inbox:
        raise ValueError(f"inbox {inbox.name!r} is registered already")
    _inboxes[inbox.name] = inbox


def inboxes() -> tuple[Inbox, ...]:
    return tuple(_inboxes.values())


def inboxes_take(*, now: datetime | None = None) -> int:
    """One batch from each inbox; how many rows were taken in all."""
    return sum(inbox.take(now=now) for inbox in _inboxes.values())
