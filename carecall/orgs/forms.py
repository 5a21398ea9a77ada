import zoneinfo
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from carecall.core.currencies import CURRENCY_CHOICES
from carecall.orgs.models import Role

TIMEZONE_CHOICES = [(tz, tz.replace("_", " ")) for tz in sorted(zoneinfo.available_timezones())]


class ClinicForm(forms.Form):
    name = forms.CharField(label=_("Clinic name"), max_length=120)
    timezone = forms.ChoiceField(
        label=_("Time zone"), choices=TIMEZONE_CHOICES, initial="Australia/Sydney"
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, initial="AUD")


class ClinicPaymentSettingsForm(forms.Form):
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
    business_number = forms.CharField(
        label=_("Business number (ABN in Australia; elsewhere the tax id)"),
        required=False,
        max_length=30,
    )

    def __init__(
        self,
        *args: Any,
        clinicians: tuple[tuple[int, str], ...] | list[tuple[int, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # One provider number per clinician of the clinic, printed on their receipts.
        for user_id, name in clinicians:
            self.fields[f"provider_{user_id}"] = forms.CharField(
                label=_("Provider number of %(name)s") % {"name": name},
                required=False,
                max_length=20,
            )


class OrganisationForm(forms.Form):
    name = forms.CharField(label=_("Organisation name"), max_length=120)
    admin_email = forms.EmailField(
        label=_("First organisation admin's email"),
        help_text=_("They get an invitation to set up the organisation."),
    )


class InviteClinicMemberForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[
            (Role.CLINICIAN, Role.CLINICIAN.label),
            (Role.CLINIC_ADMIN, Role.CLINIC_ADMIN.label),
        ],
    )


class InviteOrgAdminForm(forms.Form):
    email = forms.EmailField(label=_("Email"))


class ChangeRoleForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[
            (Role.CLINICIAN, Role.CLINICIAN.label),
            (Role.CLINIC_ADMIN, Role.CLINIC_ADMIN.label),
        ],
    )
