"""`carecall payments reconcile`: re-read stuck payment requests from Stripe and fix them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from carecall.payments.services.reconcile import payments_reconcile


class Command(BaseCommand):
    help = (
        "Payments maintenance. `reconcile` re-checks requests stuck unpaid with Stripe and "
        "retries emails (receipts) that could not be sent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        reconcile = sub.add_parser("reconcile", help="re-read stuck requests from Stripe")
        reconcile.add_argument(
            "--older-than-minutes",
            type=int,
            default=3,
            help="only requests unchanged for at least this long (default 3)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "reconcile":
            minutes = options["older_than_minutes"]
            if minutes < 0:
                self.stderr.write("--older-than-minutes must be 0 or more")
                raise SystemExit(2)
            counts = payments_reconcile(older_than=timedelta(minutes=minutes))
            self.stdout.write(
                "checked {checked}, changed {changed}, expired {expired}, errors {errors}, "
                "refunds updated {refunds}, emails sent {emails}, refunds resumed "
                "{refunds_resumed}, refunds synced {refunds_synced}, orphan intents cancelled "
                "{orphans_cancelled}".format(**counts)
            )
