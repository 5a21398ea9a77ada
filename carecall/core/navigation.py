"""Navigation entries: each app registers the links it adds to the shared pages, from its
AppConfig.ready(); the pages (base.html, orgs' home, organisation and clinic pages) render
what is registered for their place with the `navigation` template tag. So core and orgs link to
no feature by name.

Places: "header" (the site header; the subject is the signed-in user), "operator" (the
platform operator's card on the home page; the user), "organisation" (an organisation's page;
the organisation) and "clinic" (a clinic's page and its row on the home page; the page's
`ClinicAccess`). `visible(subject)` decides whether this person sees the entry; the page hands
over the URL's arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise

PLACES = ("header", "operator", "organisation", "clinic")


def _everyone(subject: Any) -> bool:
    return True


@dataclass(frozen=True)
class NavEntry:
    place: str
    key: str  # unique within its place
    label: str | Promise
    url_name: str
    order: int  # entries of a place are shown by order, then label
    visible: Callable[[Any], bool] = field(default=_everyone)
    primary: bool = False  # shown as a main button rather than a secondary one
    # On the home page's list of clinics, with the clinic's name for screen readers
    # ("Payments of %(clinic)s"); empty: the entry is not on the home page.
    home_label: str | Promise = ""


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    primary: bool
    home_label: str


_REGISTRY: dict[tuple[str, str], NavEntry] = {}


def nav_entries_register(*entries: NavEntry) -> None:
    for entry in entries:
        if entry.place not in PLACES:
            raise ValueError(f"no navigation place named {entry.place!r}")
        known = _REGISTRY.get((entry.place, entry.key))
        if known is not None and known != entry:
            raise ValueError(f"a {entry.place} entry named {entry.key!r} is registered already")
        _REGISTRY[(entry.place, entry.key)] = entry


def nav_entry_unregister(place: str, key: str) -> None:
    _REGISTRY.pop((place, key), None)


def nav_links(
    place: str, subject: Any, *args: Any, home: bool = False, name: str = ""
) -> list[NavLink]:
    """The links of `place` that `subject` may see, in order; `args` fill the URLs.

    With `home`, only the entries shown on the home page's clinic list, their labels for
    screen readers filled with `name`."""
    entries = sorted(
        (e for e in _REGISTRY.values() if e.place == place and (e.home_label or not home)),
        key=lambda e: (e.order, str(e.label)),
    )
    return [
        NavLink(
            label=str(entry.label),
            url=reverse(entry.url_name, args=args),
            primary=entry.primary,
            home_label=str(entry.home_label) % {"clinic": name} if entry.home_label else "",
        )
        for entry in entries
        if entry.visible(subject)
    ]
