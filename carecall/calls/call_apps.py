"""Apps and tools: the registry of in-call apps, and which of them a participant sees.

An app registers itself once (at import, from its Django app's `ready()`); the call page's
**Apps and tools** drawer lists the apps enabled for the clinic that this participant may open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from carecall.calls.models import ParticipantKind
from carecall.orgs.models import Clinic


@dataclass(frozen=True)
class CallApp:
    key: str
    name: str
    icon: str  # a short text symbol shown beside the name; decorative
    # Participant kinds that may open it (clinician / patient / guest).
    open_to: frozenset[str]
    # Whether it is switched on for a clinic (enablement, configuration).
    is_enabled: Callable[[Clinic], bool]

    def visible_to(self, kind: str) -> bool:
        return kind in self.open_to


_REGISTRY: dict[str, CallApp] = {}


def call_app_register(app: CallApp) -> None:
    if app.key in _REGISTRY and _REGISTRY[app.key] != app:
        raise ValueError(f"a call app named {app.key!r} is registered already")
    _REGISTRY[app.key] = app


def call_app_unregister(key: str) -> None:
    _REGISTRY.pop(key, None)


def call_apps_for(*, clinic: Clinic, kind: ParticipantKind | str) -> list[CallApp]:
    return [
        app
        for app in sorted(_REGISTRY.values(), key=lambda a: a.name)
        if app.visible_to(str(kind)) and app.is_enabled(clinic)
    ]
