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


def _described_ids(html: str) -> tuple[list[str], set[str]]:
    import re

    described = [
        part for value in re.findall(r'aria-describedby="([^"]*)"', html) for part in value.split()
    ]
    return described, set(re.findall(r'\bid="([^"]+)"', html))


def test_the_shared_form_include_points_aria_describedby_at_ids_that_exist() -> None:
    from django import forms
    from django.template.loader import render_to_string

    class Sample(forms.Form):
        name = forms.CharField(help_text="As on your card.")
        email = forms.EmailField(help_text="For the receipt.")
        phone = forms.CharField(required=False)
        kind = forms.ChoiceField(
            choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect, help_text="Pick one."
        )

    # Unbound (help text only) and bound with errors (help text and errors): every id that
    # aria-describedby names is on the page, and every help text and error list is named.
    for form in (Sample(), Sample(data={"name": "", "email": "not-an-email"})):
        html = render_to_string("core/form_fields.html", {"form": form})
        described, ids = _described_ids(html)
        assert described, html
        assert set(described) <= ids, (described, ids)
        shown = {i for i in ids if i.endswith(("_helptext", "_error"))}
        assert shown <= set(described), shown - set(described)

    bound = render_to_string(
        "core/form_fields.html", {"form": Sample(data={"name": "", "email": "x"})}
    )
    described, _ids = _described_ids(bound)
    assert {"id_name_helptext", "id_name_error", "id_email_error", "id_kind_error"} <= set(
        described
    )
    # The radio group is named by a legend, not by a label pointing at nothing.
    assert '<label for="">' not in bound
    assert "<legend>Kind</legend>" in bound


def test_any_fields_as_field_group_renders_the_projects_field_markup() -> None:
    """Django 5's `{{ field.as_field_group }}` goes through the project's renderer
    (FORM_RENDERER, core/field.html) wherever a template uses it, not Django's default markup."""
    from django import forms
    from django.template import Context, Template

    class Sample(forms.Form):
        email = forms.EmailField(help_text="For the receipt.")

    html = Template("{{ form.email.as_field_group }}").render(
        Context({"form": Sample(data={"email": "x"})})
    )

    assert '<div class="field">' in html
    assert '<label for="id_email">Email:</label>' not in html  # Django's default label_tag
    assert '<label for="id_email">Email</label>' in html
    assert '<span class="helptext" id="id_email_helptext">For the receipt.</span>' in html
    assert '<div role="alert"><ul class="errorlist" id="id_email_error">' in html
