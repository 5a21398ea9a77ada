"""Background work: the task worker (`carecall worker`), its periodic jobs and their schedule.

Built on Django's tasks interface (the `django-tasks` backport, Django 6's `django.tasks` later)
with the database backend of `django-tasks-db`; see docs/webhooks-and-jobs.md."""
