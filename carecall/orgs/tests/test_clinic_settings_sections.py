"""A clinic's settings page shows the sections apps register (payments' among them) and hands
a posted section to that section's own save; orgs knows none of them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django import forms
from django.http import QueryDict
from django.urls import reverse

from carecall.accounts.models import User
from carecall.core.errors import ServiceError
from carecall.orgs.clinic_settings_sections import (
    ClinicSettingsSection,
    clinic_settings_section_register,
    clinic_settings_section_unregister,
)
from carecall.orgs.models import Clinic
from testsupport.world import World, client_for

SAVED: list[tuple[str, str]] = []


class MottoForm(forms.Form):
    motto = forms.CharField(max_length=20)


def _form(clinic: Clinic, data: QueryDict | None) -> forms.Form:
    return MottoForm(data, prefix="motto", initial={"motto": f"{clinic.name} cares"})


def _save(actor: User, clinic: Clinic, form: forms.Form) -> None:
    if form.cleaned_data["motto"] == "refused":
        raise ServiceError("Not that motto.", field="motto")
    SAVED.append((actor.email, form.cleaned_data["motto"]))


@pytest.fixture
def motto_section() -> Iterator[None]:
    clinic_settings_section_register(
        ClinicSettingsSection(
            key="motto",
            order=20,
            template="core/form_fields.html",
            form=_form,
            save=_save,
            saved_message="Motto saved.",
        )
    )
    SAVED.clear()
    yield
    clinic_settings_section_unregister("motto")


@pytest.mark.django_db
def test_the_settings_page_shows_every_registered_section_in_order(world: World) -> None:
    url = reverse("orgs:clinic_edit", args=[world.harbour.pk])
    page = client_for(world.clinic_admin).get(url).content.decode()
    assert 'id="payment-settings"' in page  # payments' section
    assert 'name="pay-payment_max_amount"' in page


@pytest.mark.django_db
@pytest.mark.usefixtures("motto_section")
def test_a_posted_section_is_saved_by_its_own_save_or_shown_with_its_error(world: World) -> None:
    url = reverse("orgs:clinic_edit", args=[world.harbour.pk])
    client = client_for(world.clinic_admin)
    page = client.get(url).content.decode()
    assert page.index('id="payment-settings"') < page.index('value="Harbour GP cares"')
    response = client.post(url, {"form": "motto", "motto-motto": "We listen"})
    assert response.status_code == 302
    assert [(world.clinic_admin.email, "We listen")] == SAVED
    refused = client.post(url, {"form": "motto", "motto-motto": "refused"})
    assert refused.status_code == 400
    assert "Not that motto." in refused.content.decode()
    assert [(world.clinic_admin.email, "We listen")] == SAVED
    world.harbour.refresh_from_db()
    assert world.harbour.name == "Harbour GP"
