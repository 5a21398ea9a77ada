"""The project's form renderer (settings.FORM_RENDERER): Django's own, with every field's group
(`{{ field.as_field_group }}`) rendered by core/field.html, so labels, help text, errors and
their aria-describedby ids are written once for every form."""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates


class CareCallFormRenderer(DjangoTemplates):
    field_template_name = "core/field.html"
