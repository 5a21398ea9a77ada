"""A clinic's payment settings: the largest amount a clinician may request, and the contact
details printed on receipts and refund emails. Clinic admins (their clinic) and org admins."""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.audit.models import AuditAction
from carecall.audit.services import audit_record
from carecall.core.currencies import amount_format, amount_parse, amount_to_major, currency_for
from carecall.core.errors import ServiceError
from carecall.orgs.access import MANAGERS, clinic_for_user
from carecall.orgs.models import Clinic

PHONE_MAX = 32
_PHONE = re.compile(r"\+?[0-9 ()\-.]{3,}")


def payment_max_minor(clinic: Clinic, *, currency: str | None = None) -> int:
    """The clinic's largest payment request in minor units of its currency (or of `currency`:
    the connected account's, which requests are made in)."""
    decimals = currency_for(currency or clinic.currency).decimals
    return int(clinic.payment_max_amount * (10**decimals))


def payment_max_text(clinic: Clinic) -> str:
    """As the form shows it: '10000.00' (JPY: '10000')."""
    return amount_to_major(payment_max_minor(clinic), clinic.currency)


def clinic_payment_settings_update(
    *,
    actor: User,
    clinic: Clinic,
    payment_max_amount: str,
    contact_email: str,
    contact_phone: str,
) -> Clinic:
    """Check everything first; change nothing unless all of it is right."""
    access = clinic_for_user(actor, clinic.pk, roles=MANAGERS)
    clinic = access.clinic
    try:
        # The currency module knows each currency's decimals and Stripe's smallest charge.
        maximum = amount_parse(payment_max_amount, clinic.currency)
    except ServiceError as error:
        raise ServiceError(
            _("Largest payment request: %(problem)s") % {"problem": error.message},
            field="payment_max_amount",
        ) from None
    email = contact_email.strip().lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ServiceError(
                _("Enter a valid contact email address, or leave it empty."),
                field="contact_email",
            ) from None
    phone = " ".join(contact_phone.split())
    if phone and (len(phone) > PHONE_MAX or not _PHONE.fullmatch(phone)):
        raise ServiceError(
            _(
                "Enter the contact phone number with digits, spaces and + ( ) - only, "
                "at most %(n)d characters."
            )
            % {"n": PHONE_MAX},
            field="contact_phone",
        )
    decimals = currency_for(clinic.currency).decimals
    new_max = (Decimal(maximum) / (10**decimals)).quantize(Decimal("0.01"))
    with transaction.atomic():
        locked = Clinic.objects.select_for_update().get(pk=clinic.pk)
        before = (payment_max_minor(locked), locked.contact_email, locked.contact_phone)
        if before == (maximum, email, phone):
            return locked
        locked.payment_max_amount = new_max
        locked.contact_email = email
        locked.contact_phone = phone
        locked.save(
            update_fields=["payment_max_amount", "contact_email", "contact_phone", "updated_at"]
        )
        changes = []
        if before[0] != maximum:
            changes.append(
                f"largest payment request {amount_format(before[0], locked.currency)} → "
                f"{amount_format(maximum, locked.currency)}"
            )
        if before[1] != email:
            changes.append(f"contact email {before[1] or '—'} → {email or '—'}")
        if before[2] != phone:
            changes.append(f"contact phone {before[2] or '—'} → {phone or '—'}")
        audit_record(
            action=AuditAction.CLINIC_PAYMENT_SETTINGS,
            actor=actor,
            clinic=locked,
            target=f"clinic:{locked.pk}",
            summary=f"Payment settings of {locked.name}: " + "; ".join(changes),
        )
    return locked
