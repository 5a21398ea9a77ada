"""User-facing text goes through Django's gettext, including the error page and the admin."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.template.loader import render_to_string
from django.utils import translation

from carecall.accounts.models import User


@pytest.fixture
def marked_gettext(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every string that goes through gettext comes out as [string]."""
    trans = translation._trans  # type: ignore[attr-defined]
    monkeypatch.setattr(trans, "gettext", lambda message: f"[{message}]")


def test_the_server_error_page_is_translated(marked_gettext: None) -> None:
    html = render_to_string("500.html")
    assert "<title>[Error] · CareCall</title>" in html
    assert "<h1>[Something went wrong]</h1>" in html
    assert "<p>[We have been told. Please try again in a moment.]</p>" in html
    text = re.sub(r"<[^>]+>", "\n", html)
    untranslated = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not re.fullmatch(r"\[[^]]+\]( · CareCall)?", line.strip())
    ]
    assert untranslated == []


def test_the_user_admin_fieldset_titles_are_translated(marked_gettext: None) -> None:
    user_admin = admin.site._registry[User]
    titles = [str(title) for title, _ in user_admin.fieldsets or () if title is not None]
    assert titles == ["[Access]", "[Dates]"]
