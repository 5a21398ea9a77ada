from typing import Any

from django.core.management.base import BaseCommand

from carecall.orgs.demo import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Create the demo organisation, clinics and people (running it again changes nothing)."

    def handle(self, *args: Any, **options: Any) -> None:
        for person in demo_seed():
            self.stdout.write(f"{person.description:<36} {person.email}  {DEMO_PASSWORD}")
