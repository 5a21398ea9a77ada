"""A clinic's payment settings: the largest amount a clinician may request, and the contact
details printed on receipts and refund emails. Clinic admins (their clinic) and org admins."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.audit.services import audit_record
from carecall.core.currencies import amount_format, amount_parse, amount_to_major, currency_for
from carecall.core.errors import ServiceError
from carecall.orgs.access import MANAGERS, clinic_for_user
from carecall.orgs.models import Clinic, Membership, Role
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.models import ClinicReceiptDetails, ProviderNumber, StripeConnection
from carecall.payments.receipts import business_number_clean, free_text_clean

PHONE_MAX = 32
_PHONE = re.compile(r"\+?[0-9 ()\-.]{3,}")
_PROVIDER = re.compile(r"[0-9A-Z]{6,12}")


def payment_max_minor(clinic: Clinic, *, currency: str | None = None) -> int:
    """The clinic's largest payment request in minor units of its currency (or of `currency`:
    the connected account's, which requests are made in)."""
    decimals = currency_for(currency or clinic.currency).decimals
    return int(clinic.payment_max_amount * (10**decimals))


def payment_max_text(clinic: Clinic) -> str:
    """As the form shows it: '10000.00' (JPY: '10000')."""
    return amount_to_major(payment_max_minor(clinic), clinic.currency)


def clinic_receipt_initial(clinic: Clinic) -> tuple[list[tuple[int, str]], dict[str, str]]:
    """The clinic's clinicians (id, name) and the receipt fields as the settings form shows them."""
    details = ClinicReceiptDetails.objects.filter(clinic=clinic).first()
    numbers = dict(ProviderNumber.objects.filter(clinic=clinic).values_list("user_id", "number"))
    members = (
        Membership.objects.filter(clinic=clinic, role=Role.CLINICIAN)
        .select_related("user")
        .order_by("user__full_name")
    )
    clinicians = [(m.user_id, m.user.get_full_name()) for m in members]
    initial = {
        "legal_name": details.legal_name if details else "",
        "address": details.address if details else "",
        "business_number": details.business_number if details else "",
        **{f"provider_{uid}": numbers.get(uid, "") for uid, _name in clinicians},
    }
    return clinicians, initial


def clinic_payment_settings_update(
    *,
    actor: User,
    clinic: Clinic,
    payment_max_amount: str,
    contact_email: str,
    contact_phone: str,
    legal_name: str | None = None,
    address: str | None = None,
    business_number: str | None = None,
    provider_numbers: dict[int, str] | None = None,
) -> Clinic:
    """Check everything first; change nothing unless all of it is right. The receipt details
    (legal name, address, ABN or tax id, clinicians' provider numbers) stay as they are when
    not given."""
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
    receipt = _receipt_changes_checked(
        clinic,
        legal_name=legal_name,
        address=address,
        business_number=business_number,
        provider_numbers=provider_numbers,
    )
    decimals = currency_for(clinic.currency).decimals
    new_max = (Decimal(maximum) / (10**decimals)).quantize(Decimal("0.01"))
    with transaction.atomic():
        locked = Clinic.objects.select_for_update().get(pk=clinic.pk)
        receipt_changes = _receipt_changes_save(locked, receipt)
        before = (payment_max_minor(locked), locked.contact_email, locked.contact_phone)
        if before == (maximum, email, phone):
            if receipt_changes:
                audit_record(
                    action=PaymentAction.CLINIC_PAYMENT_SETTINGS,
                    actor=actor,
                    clinic=locked,
                    target=f"clinic:{locked.pk}",
                    summary=f"Payment settings of {locked.name}: " + "; ".join(receipt_changes),
                )
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
        changes.extend(receipt_changes)
        audit_record(
            action=PaymentAction.CLINIC_PAYMENT_SETTINGS,
            actor=actor,
            clinic=locked,
            target=f"clinic:{locked.pk}",
            summary=f"Payment settings of {locked.name}: " + "; ".join(changes),
        )
    return locked


def _receipt_changes_checked(
    clinic: Clinic,
    *,
    legal_name: str | None,
    address: str | None,
    business_number: str | None,
    provider_numbers: dict[int, str] | None,
) -> dict[str, Any]:
    """The receipt details as they will be stored, or a ServiceError naming the field."""
    out: dict[str, Any] = {}
    if legal_name is not None:
        out["legal_name"] = free_text_clean(legal_name, field="legal_name", limit=200)
    if address is not None:
        out["address"] = free_text_clean(address, field="address", limit=500, multiline=True)
    if business_number is not None:
        out["business_number"] = business_number_clean(clinic, business_number)
    if provider_numbers is not None:
        clinicians = set(
            Membership.objects.filter(clinic=clinic, role=Role.CLINICIAN).values_list(
                "user_id", flat=True
            )
        )
        numbers: dict[int, str] = {}
        for user_id, number in provider_numbers.items():
            if user_id not in clinicians:
                raise ServiceError(_("That person is not a clinician of this clinic."))
            number = "".join(number.split()).upper()
            if number and not _PROVIDER.fullmatch(number):
                raise ServiceError(
                    _("A provider number has 6 to 12 letters and digits, e.g. 2123456A."),
                    field=f"provider_{user_id}",
                )
            numbers[user_id] = number
        out["provider_numbers"] = numbers
    return out


def _receipt_changes_save(clinic: Clinic, receipt: dict[str, Any]) -> list[str]:
    """Store what changed (the caller holds the clinic's lock); say it, old → new, for the
    audit trail (an address's lines joined with commas)."""
    changes: list[str] = []
    fields = {k: v for k, v in receipt.items() if k != "provider_numbers"}
    if fields:
        details, _created = ClinicReceiptDetails.objects.get_or_create(clinic=clinic)
        for name, value in fields.items():
            before = getattr(details, name)
            if before == value:
                continue
            old, new = (v.replace("\n", ", ") or "—" for v in (before, value))
            changes.append(f"receipt {name.replace('_', ' ')} {old} → {new}")
            setattr(details, name, value)
        details.save()
    names = dict(
        Membership.objects.filter(clinic=clinic, user_id__in=receipt.get("provider_numbers", {}))
        .select_related("user")
        .values_list("user_id", "user__full_name")
    )
    for user_id, number in receipt.get("provider_numbers", {}).items():
        row = ProviderNumber.objects.filter(clinic=clinic, user_id=user_id).first()
        before = row.number if row else ""
        if before == number:
            continue
        if number:
            ProviderNumber.objects.update_or_create(
                clinic=clinic, user_id=user_id, defaults={"number": number}
            )
        elif row:
            row.delete()
        who = names.get(user_id) or f"user {user_id}"
        changes.append(f"provider number of {who} {before or '—'} → {number or '—'}")
    return changes


def currency_change_refuse_while_connected(
    *, clinic: Clinic, currency: str, **sent: object
) -> None:
    """orgs' clinic_currency_changing: the limit is kept and shown in the clinic's currency,
    and payments are taken in the connected account's — they must not drift apart."""
    if StripeConnection.objects.filter(clinic_id=clinic.pk).exists():
        raise ServiceError(
            _(
                "The currency cannot change while a Stripe account is connected: payments are "
                "taken in that account's currency. Remove the Stripe account first."
            ),
            field="currency",
        )
