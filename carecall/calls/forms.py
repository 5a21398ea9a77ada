from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from carecall.calls.waiting_area import WEEKDAYS, WaitingAreaSettings
from carecall.core.text import TextInputsChecked


class EntryForm(TextInputsChecked, forms.Form):
    first_name = forms.CharField(
        label=_("First name"),
        max_length=80,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=80,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    accept_terms = forms.BooleanField(label=_("I accept the clinic's terms"), required=False)

    def __init__(self, *args: object, settings: WaitingAreaSettings, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # Required fields follow the clinic's choice; the service checks them again.
        self.fields["first_name"].required = settings.require_first_name
        self.fields["last_name"].required = settings.require_last_name
        self.fields["phone"].required = settings.require_phone
        for name in ("first_name", "last_name", "phone"):
            if not self.fields[name].required:
                self.fields[name].label = f"{self.fields[name].label} ({_('optional')})"


class GuestJoinForm(TextInputsChecked, forms.Form):
    display_name = forms.CharField(
        label=_("Your name"), max_length=120, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )


class WaitingAreaSettingsForm(TextInputsChecked, forms.Form):
    is_on = forms.BooleanField(label=_("Waiting area is open to patients"), required=False)
    message = forms.CharField(
        label=_("Waiting message"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    terms = forms.CharField(
        label=_("Terms patients accept"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    require_first_name = forms.BooleanField(
        label=_("Ask for first name (required)"), required=False
    )
    require_last_name = forms.BooleanField(label=_("Ask for last name (required)"), required=False)
    require_phone = forms.BooleanField(label=_("Ask for phone number (required)"), required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for day, name in WEEKDAYS:
            self.fields[f"opens_{day}"] = forms.CharField(
                label=_("%(day)s opens") % {"day": name},
                required=False,
                max_length=5,
                widget=forms.TextInput(attrs={"placeholder": "08:30", "inputmode": "numeric"}),
            )
            self.fields[f"closes_{day}"] = forms.CharField(
                label=_("%(day)s closes") % {"day": name},
                required=False,
                max_length=5,
                widget=forms.TextInput(attrs={"placeholder": "17:00", "inputmode": "numeric"}),
            )

    def day_fields(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [(str(name), self[f"opens_{day}"], self[f"closes_{day}"]) for day, name in WEEKDAYS]
