"""Everything the call pages say can be translated: Python defaults through gettext_lazy, and
every JavaScript string written as gettext("literal"), which `makemessages -d djangojs` finds."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils.functional import Promise

from carecall.calls.forms import WaitingAreaSettingsForm
from carecall.calls.waiting_area import (
    DEFAULT_MESSAGE,
    DEFAULT_TERMS,
    WEEKDAYS,
    WaitingAreaSettings,
)

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "static" / "calls").glob("*.js"))
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


def test_every_call_script_string_is_extractable_by_makemessages() -> None:
    assert {p.name for p in SCRIPTS} >= {"call.js", "devices.js", "waiting_area.js"}
    for script in SCRIPTS:
        code = script.read_text()
        if script.name == "i18n.js":
            continue
        # The old helper t("…") is not a keyword xgettext knows: nothing in it was extracted.
        assert not re.search(r"(?<![\w.])t\(", code), f"{script.name} still calls t(…)"
        # gettext(…) must be given a literal (not a variable or a ? : choice).
        for call in re.finditer(r"(?<![\w.])gettext\(", code):
            rest = code[call.end() :]
            assert re.match(STRING + r"\)", rest), f"{script.name}: gettext({rest[:40]}…"
    call_js = (SCRIPTS[0].parent / "call.js").read_text()
    for text in ("Camera off.", "%(name)s muted.", "%(name)s unmuted.", "Joining…"):
        assert f'gettext("{text}")' in call_js
