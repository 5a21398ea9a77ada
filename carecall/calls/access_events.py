"""Access changes reach open websockets: a membership added, changed or removed, or an account
deactivated, tells that person's sockets to check their access again (events.user_group);
those whose access has ended close with 4403 within a moment, in every process.

Connected in CallsConfig.ready(): orgs and accounts know nothing of calls; calls listens to
their models' signals, so every path (services, the Django admin, a shell) is covered.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from carecall.calls.events import access_changed_on_commit


def _membership_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    access_changed_on_commit(instance.user_id)


def _user_saved(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if not created and not instance.is_active:
        access_changed_on_commit(instance.pk)


def access_events_connect() -> None:
    from carecall.accounts.models import User
    from carecall.orgs.models import Membership

    post_save.connect(_membership_changed, sender=Membership, dispatch_uid="calls.membership.save")
    post_delete.connect(
        _membership_changed, sender=Membership, dispatch_uid="calls.membership.delete"
    )
    post_save.connect(_user_saved, sender=User, dispatch_uid="calls.user.save")
