"""When each periodic job is next due (one row per job; `schedule.py` lists the jobs)."""

from __future__ import annotations

from django.db import models


class PeriodicJob(models.Model):
    """Taken by a compare-and-set on `next_run_at`: of several workers (or a worker and cron)
    looking at once, exactly one moves it on and so runs the job for that period."""

    name = models.CharField(max_length=80, unique=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name
