"""`carecall jobs run`: what a worker's scheduler does, once, for cron."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from carecall.jobs.registry import periodic_jobs
from carecall.jobs.schedule import jobs_run_once


class Command(BaseCommand):
    help = (
        "Background jobs. `run` processes the stored webhook events that wait and runs the "
        "periodic jobs that are due, here and now: "
        + ", ".join(f"{job.name} (every {job.every})" for job in periodic_jobs())
        + "."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("run", help="process waiting webhook events, run the due periodic jobs")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "run":
            done = jobs_run_once()
            self.stdout.write(
                f"processed {done['events_processed']} webhook event(s); "
                f"ran {', '.join(done['jobs']) or 'no job (none due)'}"
            )
