from django import forms
from django.utils.translation import gettext_lazy as _

from carecall.core.text import TextInputsChecked
from carecall.orgs.models import Clinic


class AppRequestForm(TextInputsChecked, forms.Form):
    clinics = forms.ModelMultipleChoiceField(
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
