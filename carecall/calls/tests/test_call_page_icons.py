"""Every in-call app's icon is drawn (an SVG symbol in the call page's sprite), never a
character a phone may lack a glyph for; every control's icon exists too."""

from __future__ import annotations

import re
from pathlib import Path

import carecall.payments.call_tool  # noqa: F401  (registers Request payment)
from carecall.calls import call_apps

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "calls"


def _symbols() -> set[str]:
    return set(re.findall(r'<symbol id="icon-([a-z-]+)"', (TEMPLATES / "_icons.html").read_text()))


def test_every_registered_app_names_an_icon_of_the_sprite() -> None:
    apps = list(call_apps._REGISTRY.values())
    assert apps, "no app registered"
    for app in apps:
        assert app.icon in _symbols(), f"{app.key}: icon {app.icon!r} is not in calls/_icons.html"


def test_every_icon_the_call_page_uses_is_in_the_sprite() -> None:
    used = set(re.findall(r'href="#icon-([a-z-]+)"', (TEMPLATES / "_call_ui.html").read_text()))
    assert used and used <= _symbols(), used - _symbols()
