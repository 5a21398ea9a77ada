"""The calls app's periodic task (registered in CallsConfig.ready())."""

from __future__ import annotations

from django_tasks import task

from carecall.calls.services import visits_abandon


@task()
def visits_abandon_task() -> int:
    return visits_abandon()
