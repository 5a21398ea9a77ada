import zoneinfo
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from carecall.core.currencies import CURRENCY_CHOICES
from carecall.core.text import TextInputsChecked
from carecall.orgs.models import Role

TIMEZONE_CHOICES = [(tz, tz.replace("_", " ")) for tz in sorted(zoneinfo.available_timezones())]


class ClinicForm(TextInputsChecked, forms.Form):
    name = forms.CharField(label=_("Clinic name"), max_length=120)
    timezone = forms.ChoiceField(
        label=_("Time zone"), choices=TIMEZONE_CHOICES, initial="Australia/Sydney"
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, initial="AUD")


class ClinicPaymentSettingsForm(TextInputsChecked, forms.Form):
    """On the clinic's settings page; checked by `clinic_payment_settings_update`."""

    payment_max_amount = forms.CharField(
        label=_("Largest payment a clinician may request"),
        max_length=20,
        help_text=_("In the clinic's currency, for example 2500.00."),
    )
    contact_email = forms.EmailField(
        label=_("Contact email on receipts"), required=False, max_length=254
    )
    contact_phone = forms.CharField(
        label=_("Contact phone on receipts"), required=False, max_length=32
    )
    legal_name = forms.CharField(
        label=_("Legal name on receipts"),
        required=False,
        max_length=200,
        help_text=_("The business name patients' insurers know, e.g. Harbour GP Pty Ltd."),
    )
    address = forms.CharField(
        label=_("Address on receipts"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    business_number = forms.CharField(label=_("Tax ID on receipts"), required=False, max_length=30)

    PROVIDER_PREFIX = "provider_"

    def __init__(
        self,
        *args: Any,
        clinicians: tuple[tuple[int, str], ...] | list[tuple[int, str]] = (),
        australian: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        number = self.fields["business_number"]
        if australian:  # the ABN, checked by its check digits; elsewhere whatever the tax id is
            number.label = _("ABN on receipts")
            number.help_text = _("11 digits, e.g. 51 824 753 556.")
        else:
            number.help_text = _("The clinic's business or tax registration number.")
        # One provider number per clinician of the clinic, printed on their receipts.
        for user_id, name in clinicians:
            self.fields[f"{self.PROVIDER_PREFIX}{user_id}"] = forms.CharField(
                label=_("Provider number of %(name)s") % {"name": name},
                required=False,
                max_length=20,
                help_text=_("Optional; printed on this clinician's receipts."),
            )

    def update_arguments(self) -> dict[str, Any]:
        """The cleaned data as `clinic_payment_settings_update` takes it."""
        data = dict(self.cleaned_data)
        data["provider_numbers"] = {
            int(key.removeprefix(self.PROVIDER_PREFIX)): data.pop(key)
            for key in list(data)
            if key.startswith(self.PROVIDER_PREFIX)
        }
        return data


class OrganisationForm(TextInputsChecked, forms.Form):
    name = forms.CharField(label=_("Organisation name"), max_length=120)
    admin_email = forms.EmailField(
        label=_("First organisation admin's email"),
        help_text=_("They get an invitation to set up the organisation."),
    )


class InviteClinicMemberForm(TextInputsChecked, forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[
            (Role.CLINICIAN, Role.CLINICIAN.label),
            (Role.CLINIC_ADMIN, Role.CLINIC_ADMIN.label),
        ],
    )


class InviteOrgAdminForm(TextInputsChecked, forms.Form):
    email = forms.EmailField(label=_("Email"))


class ChangeRoleForm(TextInputsChecked, forms.Form):
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[
            (Role.CLINICIAN, Role.CLINICIAN.label),
            (Role.CLINIC_ADMIN, Role.CLINIC_ADMIN.label),
        ],
    )
