"""The jobs app's own periodic task: pruning the task queue's finished rows. Every other app
keeps its tasks in its own `tasks.py` and registers them (carecall/jobs/registry.py).

Thin: each task calls one service. Arguments and results are JSON (they are stored in the queue)."""

from __future__ import annotations

from django_tasks import task


@task()
def task_results_prune_task() -> int:
    from carecall.jobs.schedule import task_results_prune

    return task_results_prune()
