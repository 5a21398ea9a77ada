"""Free text people type: the one check for control characters, used by every input.

A NUL cannot be stored by PostgreSQL (text or jsonb) and, sent on to Stripe in a description,
comes back in every webhook for that payment; other control characters, line separators,
bidirectional overrides and lone surrogates are invisible, reorder printed text or cannot be
encoded. None of them is something a person meant to type, so they are refused with a reason
(never silently dropped: the person sees what was wrong). Tabs count as spaces; line breaks are
allowed only where a field has lines (a textarea).

Used by: `TextInputsChecked` (every form of CareCall: each text field, including fields a form
adds in `__init__`), the JSON body schemas (`carecall.core.json_body`), and the services that pass
text on to Stripe (`text_refuse_control`).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy

from carecall.core.errors import ServiceError

# Bidirectional overrides and isolates: invisible, they make printed text read differently.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# C0 and C1 controls and DEL (Cc), lone surrogates (Cs: "\ud800" in JSON), line and paragraph
# separators (Zl, Zp).
REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})

CONTROL_MESSAGE = gettext_lazy(
    "Remove the control characters (invisible characters that came with a paste)."
)


def has_control_characters(text: str) -> bool:
    """Any character no person means to type: controls, surrogates, separators, bidi overrides."""
    return any(unicodedata.category(c) in REFUSED_CATEGORIES or c in BIDI_CONTROLS for c in text)


def _allowed(multiline: bool) -> dict[int, str]:
    return {ord(c): " " for c in ("\t\r\n" if multiline else "\t")}


def text_has_control(value: str, *, multiline: bool = False) -> bool:
    """Whether `value` holds a refused character (tabs always allowed, line breaks if multiline)."""
    if value.isascii() and value.isprintable():  # the common case, without a per-character walk
        return False
    return has_control_characters(value.translate(_allowed(multiline)))


def text_refuse_control(value: str, *, field: str, multiline: bool = False) -> None:
    """For services: raise ServiceError(field=...) when `value` holds a refused character."""
    if text_has_control(value, multiline=multiline):
        raise ServiceError(str(CONTROL_MESSAGE), field=field)


@deconstructible
class NoControlCharacters:
    """A Django validator: the form error says which characters to remove."""

    code = "control"

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: Any) -> None:
        if isinstance(value, str) and text_has_control(value, multiline=self.multiline):
            raise ValidationError(CONTROL_MESSAGE, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoControlCharacters) and other.multiline == self.multiline

    def __hash__(self) -> int:
        return hash((NoControlCharacters, self.multiline))


def field_is_checked(field: forms.Field) -> bool:
    return any(isinstance(v, NoControlCharacters) for v in field.validators)


def field_guard(field: forms.Field) -> None:
    """Give a text field the check (multi-line when its widget is a textarea). Passwords are
    left to Django's own NUL check: they are hashed, never shown, and refusing a character an
    existing password holds would lock its owner out."""
    if not isinstance(field, forms.CharField) or field_is_checked(field):
        return
    if isinstance(field.widget, forms.PasswordInput):
        return
    multiline = isinstance(field.widget, forms.Textarea)
    # A new list (declared fields share theirs with the class's base field), in which this
    # check replaces Django's NUL-only one, so a NUL gets the same reason as the others.
    kept = [v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)]
    field.validators = [*kept, NoControlCharacters(multiline=multiline)]


class TextInputsChecked:
    """Mixin for every CareCall form (a test walks them all): each text field refuses control
    characters, including the fields a form adds in its own `__init__` (the check is attached
    just before cleaning, when the form's fields are final)."""

    fields: dict[str, forms.Field]

    def full_clean(self) -> None:
        for field in self.fields.values():
            field_guard(field)
        super().full_clean()  # type: ignore[misc]
