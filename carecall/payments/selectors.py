from __future__ import annotations

import zoneinfo
from datetime import datetime

from django.db.models import QuerySet
from django.utils.formats import date_format

from carecall.calls.models import Participant, Visit
from carecall.core.currencies import amount_format
from carecall.payments.models import PaymentRequest, PaymentStatus, StripeConnection
from carecall.payments.schemas import PaymentInfo


def local_display(timezone_name: str, when: datetime | None) -> str:
    """A moment in the clinic's own time zone, formatted for the active locale."""
    if when is None:
        return ""
    local = when.astimezone(zoneinfo.ZoneInfo(timezone_name))
    return f"{date_format(local, 'j F Y, g:i A')} ({timezone_name})"


CARD_BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "discover": "Discover",
    "diners": "Diners Club",
    "jcb": "JCB",
    "unionpay": "UnionPay",
    "eftpos_au": "eftpos",
}


def card_brand_display(brand: str) -> str:
    return CARD_BRANDS.get(brand, brand.title())


def payment_info(pr: PaymentRequest) -> PaymentInfo:
    return PaymentInfo(
        id=str(pr.pk),
        reference=pr.reference,
        amount=pr.amount,
        currency=pr.currency,
        amount_display=amount_format(pr.amount, pr.currency),
        description=pr.description,
        status=pr.status,
        status_label=str(PaymentStatus(pr.status).label),
        payer_id=str(pr.payer_id),
        payer_name=pr.payer.display_name,
        requested_by=pr.requested_by.get_full_name(),
        created_at=pr.created_at.isoformat(),
        paid_at=pr.paid_at.isoformat() if pr.paid_at else None,
        paid_at_display=local_display(pr.clinic.timezone, pr.paid_at),
        card_brand=card_brand_display(pr.card_brand),
        card_last4=pr.card_last4,
        failure_message=pr.failure_message,
        cancel_reason=pr.cancel_reason,
        clinic=pr.clinic.name,
    )


def payment_requests_of_visit(visit: Visit) -> QuerySet[PaymentRequest]:
    return (
        PaymentRequest.objects.filter(visit=visit)
        .select_related("clinic", "payer", "requested_by")
        .order_by("created_at")
    )


def payment_requests_of_payer(payer: Participant) -> QuerySet[PaymentRequest]:
    return payment_requests_of_visit(payer.visit).filter(payer=payer)


def connection_of(clinic_id: int) -> StripeConnection | None:
    return (
        StripeConnection.objects.filter(clinic_id=clinic_id).select_related("connected_by").first()
    )
