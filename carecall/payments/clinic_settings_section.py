"""Payments' section of a clinic's settings page (registered in PaymentsConfig.ready()): the
largest payment a clinician may request and the details printed on receipts."""

from __future__ import annotations

from django.forms import Form
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from carecall.accounts.models import User
from carecall.orgs.clinic_settings_sections import ClinicSettingsSection
from carecall.orgs.forms import ClinicPaymentSettingsForm
from carecall.orgs.models import Clinic
from carecall.payments.clinic_settings import (
    clinic_payment_settings_update,
    clinic_receipt_initial,
    payment_max_text,
)
from carecall.payments.receipts import clinic_is_australian


def payment_settings_form(
    clinic: Clinic, data: QueryDict | None = None
) -> ClinicPaymentSettingsForm:
    clinicians, receipt = clinic_receipt_initial(clinic)
    initial = {
        "payment_max_amount": payment_max_text(clinic),
        "contact_email": clinic.contact_email,
        "contact_phone": clinic.contact_phone,
        **receipt,
    }
    return ClinicPaymentSettingsForm(
        data,
        initial=initial,
        prefix="pay",
        clinicians=clinicians,
        australian=clinic_is_australian(clinic),
    )


def payment_settings_save(actor: User, clinic: Clinic, form: Form) -> None:
    if not isinstance(form, ClinicPaymentSettingsForm):
        raise TypeError("the payment settings section saves its own form")
    clinic_payment_settings_update(actor=actor, clinic=clinic, **form.update_arguments())


SECTION = ClinicSettingsSection(
    key="payment_settings",
    order=10,
    template="payments/clinic_settings_section.html",
    form=payment_settings_form,
    save=payment_settings_save,
    saved_message=_("Payment settings saved."),
)
