"""Everything the call pages (and apps on them, such as payments) say can be translated: Python
defaults through gettext_lazy, and every JavaScript string under carecall/*/static written as
gettext("literal"), which `makemessages -d djangojs` finds."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from django.contrib.staticfiles import finders
from django.utils.functional import Promise

from carecall.calls.forms import WaitingAreaSettingsForm
from carecall.calls.waiting_area import (
    DEFAULT_MESSAGE,
    DEFAULT_TERMS,
    WEEKDAYS,
    WaitingAreaSettings,
)

CARECALL = Path(__file__).resolve().parents[2]
# Every script of every app (calls, payments, core, and any added later).
SCRIPTS = sorted(CARECALL.glob("*/static/**/*.js"))
HELPER = CARECALL / "core" / "static" / "core" / "i18n.js"
STRING = r'"(?:[^"\\]|\\.)*"'


def test_weekdays_and_waiting_area_defaults_are_translated_when_read() -> None:
    assert all(isinstance(name, Promise) for _day, name in WEEKDAYS)
    assert str(WEEKDAYS[0][1]) == "Monday"
    assert isinstance(DEFAULT_MESSAGE, Promise) and isinstance(DEFAULT_TERMS, Promise)
    # A settings object holds plain text in the language active when it was made.
    settings = WaitingAreaSettings()
    assert type(settings.message) is str and settings.message == str(DEFAULT_MESSAGE)
    assert type(settings.terms) is str and settings.terms == str(DEFAULT_TERMS)
    assert WaitingAreaSettingsForm()["opens_0"].label == "Monday opens"


def _name(script: Path) -> str:
    return str(script.relative_to(CARECALL))


def test_every_script_string_is_extractable_by_makemessages() -> None:
    assert {_name(p) for p in SCRIPTS} >= {
        "calls/static/calls/call.js",
        "calls/static/calls/devices.js",
        "calls/static/calls/waiting_area.js",
        "payments/static/payments/payments.js",
    }
    for script in SCRIPTS:
        if script == HELPER:
            continue
        code = script.read_text()
        # The old helper t("…") is not a keyword xgettext knows: nothing in it was extracted.
        assert not re.search(r"(?<![\w.])t\(", code), f"{_name(script)} still calls t(…)"
        # gettext(…) must be given a literal (not a variable or a ? : choice).
        for call in re.finditer(r"(?<![\w.])gettext\(", code):
            rest = code[call.end() :]
            assert re.match(STRING + r"\)", rest), f"{_name(script)}: gettext({rest[:40]}…"
    call_js = (CARECALL / "calls" / "static" / "calls" / "call.js").read_text()
    for text in ("Camera off.", "%(name)s muted.", "%(name)s unmuted.", "Joining…"):
        assert f'gettext("{text}")' in call_js
    payments_js = (CARECALL / "payments" / "static" / "payments" / "payments.js").read_text()
    for text in ("Payment received", "patient", "guest", "Pay now", "Pay %(amount)s"):
        assert f'gettext("{text}")' in payments_js


def test_every_script_takes_gettext_and_format_from_the_one_core_helper() -> None:
    """One helper module: no app keeps its own copy, and each import of it resolves to it (as
    the browser resolves it: relative to the script's URL under /static/)."""
    assert [p for p in SCRIPTS if p.name == "i18n.js"] == [HELPER]
    importers = 0
    for script in SCRIPTS:
        url = str(script.relative_to(CARECALL)).split("/static/", 1)[1]  # "calls/call.js"
        for target in re.findall(r'from\s+"([^"]*i18n\.js)"', script.read_text()):
            found = finders.find(posixpath.normpath(posixpath.join(posixpath.dirname(url), target)))
            assert found and Path(str(found)) == HELPER, f"{_name(script)}: {target}"
            importers += 1
    assert importers >= 5  # call, devices, copy_link, waiting_area, payments
