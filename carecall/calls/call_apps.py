"""Apps and tools: the registry of in-call apps, and which of them a participant sees.

An app registers itself once (at import, from its Django app's `ready()`); the call page's
**Apps and tools** drawer lists the apps enabled for the clinic that this participant may open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from carecall.calls.models import ParticipantKind
from carecall.orgs.models import Clinic


@dataclass(frozen=True)
class CallPage:
    """The call page an app's data is for: the clinic, the visit, and the link it was opened
    by ("v" a patient's, "j" a guest's, with its token) or none (a staff member's page). Apps
    hand the page's script the URLs it needs from this, so no script derives one from its own
    address."""

    clinic: Clinic
    visit_id: str
    link_kind: str = ""
    link_token: str = ""


@dataclass(frozen=True)
class CallApp:
    key: str
    name: str
    # The name of an icon in the call page's sprite (calls/_icons.html: "card", "tool", …) shown
    # beside the name; decorative. An unknown name shows the generic tool icon.
    icon: str
    # Participant kinds that may open it (clinician / patient / guest).
    open_to: frozenset[str]
    # Whether it is switched on for a clinic (enablement, configuration).
    is_enabled: Callable[[Clinic], bool]
    # The same as an expression (e.g. an `Exists`) on an outer query whose field named by the
    # argument is the clinic's id: a call socket's connect reads it in its one welcome query.
    # Without it, `is_enabled` runs its own query.
    enabled_exists: Callable[[str], Any] | None = None
    # Static scripts every call page of such a clinic loads (an app may act for guests too, e.g.
    # the payer's side of payments), with data for them and what they add to the page's CSP.
    page_scripts: tuple[str, ...] = ()
    page_styles: tuple[str, ...] = ()  # static stylesheets for the same pages
    # Markup included in the call page (translated, server-rendered), once per slot: "stage"
    # (over the video), "panel" (inside Apps and tools), "dialogs" (at the end of the page);
    # without a slot (the page after the call) it renders what a payer needs.
    page_template: str = ""
    page_data: Callable[[CallPage], dict[str, str]] = field(default=lambda page: {})
    page_csp: Callable[[], dict[str, list[str]]] = field(default=lambda: {})

    def visible_to(self, kind: str) -> bool:
        return kind in self.open_to


_REGISTRY: dict[str, CallApp] = {}


def call_app_register(app: CallApp) -> None:
    if app.key in _REGISTRY and _REGISTRY[app.key] != app:
        raise ValueError(f"a call app named {app.key!r} is registered already")
    _REGISTRY[app.key] = app


def call_app_unregister(key: str) -> None:
    _REGISTRY.pop(key, None)


def _enabled_field(key: str) -> str:
    return f"call_app_enabled_{key}"


def call_apps_enabled_annotations(clinic_ref: str) -> dict[str, Any]:
    """Annotations (for `.annotate(**…)`) answering each app's `enabled_exists` in the caller's
    query; read back with `call_apps_enabled_from`."""
    return {
        _enabled_field(app.key): app.enabled_exists(clinic_ref)
        for app in _REGISTRY.values()
        if app.enabled_exists is not None
    }


def call_apps_enabled_from(row: object) -> dict[str, bool]:
    """What `call_apps_enabled_annotations` read, from an annotated row (a model instance)."""
    return {
        app.key: bool(getattr(row, _enabled_field(app.key)))
        for app in _REGISTRY.values()
        if hasattr(row, _enabled_field(app.key))
    }


def call_apps_for(
    *, clinic: Clinic, kind: ParticipantKind | str, enabled: Mapping[str, bool] | None = None
) -> list[CallApp]:
    """The apps this kind of participant sees at this clinic; `enabled` holds what a query
    already read (`call_apps_enabled_from`), any app missing from it is asked itself."""
    known = enabled or {}
    return [
        app
        for app in sorted(_REGISTRY.values(), key=lambda a: a.name)
        if app.visible_to(str(kind))
        and (known[app.key] if app.key in known else app.is_enabled(clinic))
    ]


@dataclass(frozen=True)
class CallPageAssets:
    scripts: list[str]
    styles: list[str]
    templates: list[str]
    data: dict[str, dict[str, str]]  # app key -> data attributes
    csp: dict[str, list[str]]


def call_page_assets(page: CallPage) -> CallPageAssets:
    """What the enabled apps add to a call page of this clinic, whoever opens it."""
    clinic = page.clinic
    scripts: list[str] = []
    styles: list[str] = []
    templates: list[str] = []
    data: dict[str, dict[str, str]] = {}
    csp: dict[str, list[str]] = {}
    for app in sorted(_REGISTRY.values(), key=lambda a: a.key):
        if not app.is_enabled(clinic):
            continue
        scripts.extend(s for s in app.page_scripts if s not in scripts)
        styles.extend(s for s in app.page_styles if s not in styles)
        if app.page_template:
            templates.append(app.page_template)
        data[app.key] = app.page_data(page)
        for directive, sources in app.page_csp().items():
            csp.setdefault(directive, [])
            csp[directive].extend(s for s in sources if s not in csp[directive])
    return CallPageAssets(scripts=scripts, styles=styles, templates=templates, data=data, csp=csp)
