"""What every page carries: a favicon, the confirmation module; greetings by first name."""

from __future__ import annotations

import pytest
from django.test import Client

from carecall.accounts.models import User


@pytest.mark.django_db
def test_favicon_ico_leads_to_the_svg_icon_that_every_page_links() -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    icon = Client().get(response["Location"])
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)  # type: ignore[attr-defined]
    page = Client().get("/accounts/sign-in/").content.decode()
    assert 'rel="icon"' in page and "core/favicon" in page
    assert "core/confirm.js" in page


@pytest.mark.parametrize(
    ("full_name", "greeting"),
    [("Dr Chris Lee", "Chris"), ("Prof. Ann Ng", "Ann"), ("Hannah Smith", "Hannah"), ("Dr", "Dr")],
)
def test_the_short_name_skips_a_title(full_name: str, greeting: str) -> None:
    assert User(full_name=full_name, email="x@example.test").get_short_name() == greeting


def test_the_shared_form_include_points_aria_describedby_at_ids_that_exist() -> None:
    import re

    from django import forms
    from django.template.loader import render_to_string

    class Sample(forms.Form):
        name = forms.CharField(help_text="As on your card.")
        email = forms.EmailField(help_text="For the receipt.")

    html = render_to_string("core/form_fields.html", {"form": Sample()})
    described = re.findall(r'aria-describedby="([^"]+)"', html)
    assert len(described) == 2
    ids = set(re.findall(r'id="([^"]+)"', html))
    for value in described:
        assert set(value.split()) <= ids, value
