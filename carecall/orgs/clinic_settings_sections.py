"""Sections of a clinic's settings page that other apps add (payments: its limit and receipt
details), registered from their AppConfig.ready(). orgs renders each section's template with
its form and hands a posted section to the section's own save (the app's service), so orgs
knows none of them.

A section posts a hidden `form` field holding its key; the page shows every section, the posted
one bound (with its errors, status 400) when it does not validate or its service refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.forms import Form
from django.http import QueryDict
from django.utils.functional import Promise

from carecall.accounts.models import User
from carecall.orgs.models import Clinic


@dataclass(frozen=True)
class ClinicSettingsSection:
    key: str  # the value of the section form's hidden `form` field
    order: int
    template: str  # rendered with `clinic` and `form` (the section's form)
    form: Callable[[Clinic, QueryDict | None], Form]  # unbound (None) or bound to the POST
    # Saves a valid form through the app's service; raises ServiceError to refuse.
    save: Callable[[User, Clinic, Form], None]
    saved_message: str | Promise


_REGISTRY: dict[str, ClinicSettingsSection] = {}


def clinic_settings_section_register(section: ClinicSettingsSection) -> None:
    known = _REGISTRY.get(section.key)
    if known is not None and known != section:
        raise ValueError(f"a clinic settings section named {section.key!r} is registered already")
    _REGISTRY[section.key] = section


def clinic_settings_section_unregister(key: str) -> None:
    _REGISTRY.pop(key, None)


def clinic_settings_section(key: str) -> ClinicSettingsSection | None:
    return _REGISTRY.get(key)


def clinic_settings_sections() -> list[ClinicSettingsSection]:
    return sorted(_REGISTRY.values(), key=lambda s: (s.order, s.key))
