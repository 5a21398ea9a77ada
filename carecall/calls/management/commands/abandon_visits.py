"""`carecall abandon_visits`: end visits whose patient has been gone for 30 minutes."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from carecall.calls.services import visits_abandon


class Command(BaseCommand):
    help = "End visits whose patient has had no connection for 30 minutes (run periodically)."

    def handle(self, *args: Any, **options: Any) -> None:
        ended = visits_abandon()
        self.stdout.write(f"Ended {ended} abandoned visit(s).")
