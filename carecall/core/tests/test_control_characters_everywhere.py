"""Control characters are refused by one check (carecall/core/text.py) in every free-text input:
each field of every CareCall form (found by walking the package, so a new form without the check
fails here), and the check itself on the characters that broke things."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from django import forms

import carecall
from carecall.calls.waiting_area import WaitingAreaSettings
from carecall.core.errors import ServiceError
from carecall.core.text import (
    NoControlCharacters,
    TextInputsChecked,
    has_control_characters,
    text_has_control,
    text_refuse_control,
)
from carecall.orgs.models import Clinic

REFUSED = [
    "\x00",  # NUL: PostgreSQL cannot store it
    "\x1b",  # ESC (terminal escapes in logs)
    "\x07",  # BEL
    "\x7f",  # DEL
    "\x85",  # NEL, a C1 control
    "\u2028",  # line separator
    "\u2029",  # paragraph separator
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\ud800",  # a lone surrogate (cannot be encoded as UTF-8)
]
ALLOWED = ["Zoë O'Neil-Smith", "Smith & Jones", "日本語 テスト", "café\tau lait", "a – b", "🙂"]


@pytest.mark.parametrize("character", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_each_control_character_is_refused_inside_ordinary_text(character: str) -> None:
    text = f"Consult{character}ation"
    assert has_control_characters(text)
    assert text_has_control(text) and text_has_control(text, multiline=True)
    with pytest.raises(ServiceError) as refused:
        text_refuse_control(text, field="description")
    assert refused.value.field == "description"


@pytest.mark.parametrize("text", ALLOWED)
def test_ordinary_text_in_any_script_passes(text: str) -> None:
    assert not text_has_control(text)
    text_refuse_control(text, field="name")


def test_line_breaks_pass_only_where_the_field_has_lines() -> None:
    assert text_has_control("first\nsecond")
    assert text_has_control("first\r\nsecond")
    assert not text_has_control("first\r\nsecond", multiline=True)
    assert text_has_control("first\n\x00second", multiline=True)


# ----------------------------------------------------------------------------- every form


def _carecall_forms() -> list[type[forms.BaseForm]]:
    for module in pkgutil.walk_packages(carecall.__path__, "carecall."):
        if ".tests" in module.name or ".migrations" in module.name:
            continue
        importlib.import_module(module.name)
    found: list[type[forms.BaseForm]] = []
    todo: list[type[forms.BaseForm]] = [forms.BaseForm]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("carecall.") and ".tests" not in cls.__module__:
            found.append(cls)
    return sorted(set(found), key=lambda c: f"{c.__module__}.{c.__qualname__}")


# How to make each form with the given data. A form missing here fails the test below.
MAKERS: dict[str, Callable[[Mapping[str, str]], forms.BaseForm]] = {
    "AppRequestForm": lambda d: _form("clinic_apps", "AppRequestForm")(
        d, clinics=Clinic.objects.none()
    ),
    "DecisionForm": lambda d: _form("clinic_apps", "DecisionForm")(d),
    "EntryForm": lambda d: _form("calls", "EntryForm")(d, settings=WaitingAreaSettings()),
    "GuestJoinForm": lambda d: _form("calls", "GuestJoinForm")(d),
    "WaitingAreaSettingsForm": lambda d: _form("calls", "WaitingAreaSettingsForm")(d),
    "ClinicForm": lambda d: _form("orgs", "ClinicForm")(d),
    "ClinicPaymentSettingsForm": lambda d: _form("orgs", "ClinicPaymentSettingsForm")(
        d, clinicians=[(1, "Dr Chris Lee")]
    ),
    "OrganisationForm": lambda d: _form("orgs", "OrganisationForm")(d),
    "InviteClinicMemberForm": lambda d: _form("orgs", "InviteClinicMemberForm")(d),
    "InviteOrgAdminForm": lambda d: _form("orgs", "InviteOrgAdminForm")(d),
    "ChangeRoleForm": lambda d: _form("orgs", "ChangeRoleForm")(d),
    "PaymentFiltersForm": lambda d: _form("payments", "PaymentFiltersForm", "reports")(
        d, clinics=[]
    ),
    "RefundForm": lambda d: _form("payments", "RefundForm")(d),
    "SignInForm": lambda d: _form("accounts", "SignInForm")(None, data=d),
    "AcceptInvitationForm": lambda d: _form("accounts", "AcceptInvitationForm")(d),
    "PasswordResetForm": lambda d: _form("accounts", "PasswordResetForm")(d),
}


def _form(app: str, name: str, module: str = "forms") -> Any:
    return getattr(importlib.import_module(f"carecall.{app}.{module}"), name)


# Fields whose values are picked from a list or ticked: a typed character is no choice.
PICKED = (forms.ChoiceField, forms.BooleanField, forms.ModelMultipleChoiceField)


def test_every_carecall_form_checks_its_text_and_has_a_maker_here() -> None:
    found = _carecall_forms()
    assert len(found) >= len(MAKERS)  # the walk found the forms (it can fail)
    names = {cls.__name__ for cls in found}
    assert names == set(MAKERS), "add the new form to MAKERS (and give it TextInputsChecked)"
    unchecked = [cls.__name__ for cls in found if not issubclass(cls, TextInputsChecked)]
    assert unchecked == []


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_every_text_field_of_every_form_refuses_control_characters(name: str) -> None:
    fields = MAKERS[name]({}).fields
    typed = [
        (field_name, field)
        for field_name, field in fields.items()
        if not isinstance(field, PICKED) and not isinstance(field.widget, forms.PasswordInput)
    ]
    # (ChangeRoleForm has only a choice: nothing typed to check.)
    for field_name, field in typed:
        prefix = MAKERS[name]({}).add_prefix(field_name)
        form = MAKERS[name]({prefix: "Pat\x1bJones"})
        form.is_valid()
        refusals = form.errors.as_data().get(field_name, [])
        codes = {e.code for e in refusals}
        if isinstance(field, forms.CharField):
            assert "control" in codes, (name, field_name, refusals)
            multiline = isinstance(field.widget, forms.Textarea)
            assert NoControlCharacters(multiline=multiline) in form.fields[field_name].validators
        else:  # ids, days, the search: their own parsing refuses anything but what they take
            assert refusals, (name, field_name)


@pytest.mark.django_db
def test_a_field_a_form_adds_in_its_own_init_is_checked_too() -> None:
    """ClinicPaymentSettingsForm adds a provider number per clinician after super().__init__."""
    form = MAKERS["ClinicPaymentSettingsForm"]({"provider_1": "123\x00456"})
    form.is_valid()
    assert "control" in {e.code for e in form.errors.as_data()["provider_1"]}


@pytest.mark.django_db
def test_a_textarea_takes_line_breaks_and_a_one_line_field_does_not() -> None:
    make = MAKERS["WaitingAreaSettingsForm"]
    form = make(
        {"message": "Welcome.\r\nWe will be with you soon.", "terms": "Terms", "opens_0": "8\n9"}
    )
    form.is_valid()
    errors = form.errors.as_data()
    assert "message" not in errors
    assert "control" in {e.code for e in errors["opens_0"]}
