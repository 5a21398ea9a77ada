from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "carecall.jobs"
    label = "jobs"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        from datetime import timedelta

        from carecall.jobs.registry import Job, periodic_job_register

        # The task queue's finished rows (and rows a dead worker left running).
        periodic_job_register(
            Job(
                "task_results_prune",
                timedelta(hours=1),
                "carecall.jobs.tasks.task_results_prune_task",
            )
        )
