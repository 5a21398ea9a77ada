"""Every row of every model, to prove a request changed nothing.

`database_snapshot()` reads each concrete model the app registry knows (Django's own, the
libraries' and CareCall's) with `values()`, ordered by primary key; `snapshot_changes(before,
after)` names the tables whose rows differ. Fields that move on their own while a socket is
merely open (presence counters and stamps) can be left out by `ignore`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.apps import apps

Snapshot = dict[str, list[dict[str, Any]]]


def database_snapshot(*, ignore: Mapping[str, set[str]] | None = None) -> Snapshot:
    ignored = ignore or {}
    snapshot: Snapshot = {}
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        label = meta.label
        left_out = ignored.get(label, set())
        names = [f.attname for f in meta.concrete_fields if f.attname not in left_out]
        snapshot[label] = list(model._base_manager.order_by("pk").values(*names))
    return snapshot


def snapshot_changes(before: Snapshot, after: Snapshot) -> dict[str, dict[str, Any]]:
    """For each table that changed: the rows only before and the rows only after."""
    changed: dict[str, dict[str, Any]] = {}
    for label in sorted(set(before) | set(after)):
        old, new = before.get(label, []), after.get(label, [])
        if old != new:
            changed[label] = {
                "gone": [row for row in old if row not in new],
                "new": [row for row in new if row not in old],
            }
    return changed
