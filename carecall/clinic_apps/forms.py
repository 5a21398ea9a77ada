from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from carecall.core.converters import LARGEST_ID
from carecall.core.text import TextInputsChecked
from carecall.orgs.models import Clinic


class ClinicChoices(forms.ModelMultipleChoiceField):
    """Clinics picked by id. A posted id beyond the 64-bit column is no choice: Django's field
    put it in the query as it came (SQLite: OverflowError, PostgreSQL: out of range, a 500)."""

    def clean(self, value: Any) -> Any:
        for pk in value if isinstance(value, list | tuple) else []:
            text = str(pk)
            if text.isascii() and text.isdigit() and int(text) > LARGEST_ID:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": text[:20]},
                )
        return super().clean(value)


class AppRequestForm(TextInputsChecked, forms.Form):
    clinics = ClinicChoices(
        label=_("Clinics"), queryset=Clinic.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    manager_name = forms.CharField(label=_("Authorised telehealth manager's name"), max_length=120)
    manager_email = forms.EmailField(label=_("Manager's email"))
    manager_phone = forms.CharField(label=_("Manager's phone"), max_length=32)
    accept_terms = forms.BooleanField(
        label=_("I accept the Payment Gateway terms on behalf of the organisation"), required=False
    )

    def __init__(self, *args: object, clinics: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["clinics"].queryset = clinics  # type: ignore[attr-defined]


class DecisionForm(TextInputsChecked, forms.Form):
    comment = forms.CharField(
        label=_("Comment to the requester"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
