"""Receipts a patient can claim with: what they show (one `receipt_details` for the email, the
printable page and the tests) and the link that opens the printable page.

The link is signed, not stored: the patient's visit token exists only as a hash, yet the
receipt email (sent when Stripe's webhook arrives) must link the page. Like Stripe's own
receipt links, whoever holds it sees that one receipt, nothing else; it opens only a paid
request's receipt and is never cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext as _

from carecall.core.currencies import amount_format
from carecall.core.errors import ServiceError
from carecall.orgs.models import Clinic
from carecall.payments.models import (
    ClinicReceiptDetails,
    PaymentRequest,
    PaymentStatus,
    ProviderNumber,
)
from carecall.payments.selectors import card_brand_display, local_display

RECEIPT_SALT = "carecall.payments.receipt"
_ABN_WEIGHTS = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clinic_is_australian(clinic: Clinic) -> bool:
    """Australian clinics give an ABN; the clinic's currency says where it takes payments."""
    return clinic.currency == "AUD"


def business_number_label(clinic: Clinic) -> str:
    return _("ABN") if clinic_is_australian(clinic) else _("Tax ID")


def abn_is_valid(abn: str) -> bool:
    """The Australian Business Register's check: 11 digits; subtract 1 from the first, weight
    each digit, and the sum divides by 89."""
    digits = [int(c) for c in abn if c.isdigit()]
    if len(digits) != 11 or re.sub(r"[\d ]", "", abn):
        return False
    digits[0] -= 1
    return sum(d * w for d, w in zip(digits, _ABN_WEIGHTS, strict=True)) % 89 == 0


def business_number_clean(clinic: Clinic, value: str) -> str:
    """As stored and printed: an ABN as "51 824 753 556"; another country's tax id as given."""
    value = " ".join(value.split())
    if not value:
        return ""
    if clinic_is_australian(clinic):
        if not abn_is_valid(value):
            raise ServiceError(
                _("Enter the clinic's ABN: 11 digits, as the Business Register shows it."),
                field="business_number",
            )
        d = "".join(c for c in value if c.isdigit())
        return f"{d[:2]} {d[2:5]} {d[5:8]} {d[8:]}"
    if len(value) > 30 or _CONTROL.search(value):
        raise ServiceError(_("Enter the tax id in at most 30 characters."), field="business_number")
    return value


def free_text_clean(value: str, *, field: str, limit: int, multiline: bool = False) -> str:
    """Trimmed text without control characters (a line break allowed where it is multi-line)."""
    value = value.replace("\r\n", "\n").strip()
    lines = [" ".join(line.split()) for line in value.split("\n")] if multiline else [value]
    text = "\n".join(line for line in lines if line) if multiline else " ".join(value.split())
    if _CONTROL.search(text.replace("\n", "")) or len(text) > limit:
        raise ServiceError(
            _("Use at most %(n)d characters, without control characters.") % {"n": limit},
            field=field,
        )
    return text


@dataclass(frozen=True)
class ReceiptDetails:
    clinic_name: str
    legal_name: str
    address_lines: list[str]
    business_number_label: str
    business_number: str
    contact_email: str
    contact_phone: str
    patient_name: str
    payer_name: str
    clinician_name: str
    provider_number: str
    description: str
    amount: str
    total: str
    card: str
    reference: str
    paid_at: str
    url: str


def receipt_url(pr: PaymentRequest, *, absolute: bool = False) -> str:
    path = reverse("payments:receipt", args=[signing.dumps(str(pr.pk), salt=RECEIPT_SALT)])
    return f"{settings.SITE_URL.rstrip('/')}{path}" if absolute else path


def receipt_request_for(signed: str) -> PaymentRequest | None:
    """The paid request a receipt link names, or None (bad signature, unpaid, unknown)."""
    try:
        request_id = signing.loads(signed, salt=RECEIPT_SALT)
    except signing.BadSignature:
        return None
    return (
        PaymentRequest.objects.select_related("clinic", "visit", "payer", "requested_by")
        .filter(pk=request_id, status=PaymentStatus.PAID)
        .first()
    )


def receipt_details(pr: PaymentRequest) -> ReceiptDetails:
    clinic = pr.clinic
    details = ClinicReceiptDetails.objects.filter(clinic=clinic).first()
    provider = (
        ProviderNumber.objects.filter(clinic=clinic, user=pr.requested_by)
        .values_list("number", flat=True)
        .first()
    )
    amount = amount_format(pr.amount, pr.currency)
    return ReceiptDetails(
        clinic_name=clinic.name,
        legal_name=(details.legal_name if details else "") or clinic.name,
        address_lines=(details.address.splitlines() if details else []),
        business_number_label=business_number_label(clinic),
        business_number=details.business_number if details else "",
        contact_email=clinic.contact_email,
        contact_phone=clinic.contact_phone,
        patient_name=pr.visit.display_name,
        payer_name=pr.payer.display_name,
        clinician_name=pr.requested_by.get_full_name(),
        provider_number=provider or "",
        description=pr.description,
        amount=amount,
        total=amount,
        card=f"{card_brand_display(pr.card_brand)} •••• {pr.card_last4}".strip(),
        reference=pr.reference,
        paid_at=local_display(clinic.timezone, pr.paid_at),
        url=receipt_url(pr, absolute=True),
    )
