"""Who sees which payment: the one rule, used by every list, detail, CSV, report, JSON answer
and live message of payments.

Clinic admins and organisation admins see every payment of the clinics they manage; a clinician
sees only the payments they requested themselves — not a colleague's (amount, payer, card), not
even in a call they both joined. Patients and guests reach only their own requests, through
their link (views.payer_request_of). Reaching the clinic itself (404 for outsiders, 403 for a
refused role) stays with carecall.orgs.access.

Who may act on payments: only a clinician in the call (joined, not left) requests a payment in
it; that clinician or one of the clinic's managers cancels one (403 otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.calls.models import Participant, ParticipantKind, Visit
from carecall.orgs.access import MANAGERS, ClinicAccess, clinic_for_user
from carecall.orgs.models import Membership
from carecall.payments.models import PaymentRequest


def payments_requested_by_only(access: ClinicAccess, user_id: int) -> int | None:
    """The requester the person is limited to at this clinic (a clinician: themselves), or
    None when they see every payment of the clinic."""
    return None if access.can_manage else user_id


def payments_visible(
    access: ClinicAccess, user_id: int, payments: QuerySet[PaymentRequest]
) -> QuerySet[PaymentRequest]:
    """`payments` (of access.clinic) narrowed to what this person may see."""
    only = payments_requested_by_only(access, user_id)
    payments = payments.filter(clinic=access.clinic)
    return payments if only is None else payments.filter(requested_by_id=only)


def payment_is_visible(access: ClinicAccess, user_id: int, payment: PaymentRequest) -> bool:
    if payment.clinic_id != access.clinic.pk:
        return False
    only = payments_requested_by_only(access, user_id)
    return only is None or payment.requested_by_id == only


def payment_viewers_among(payment: PaymentRequest, user_ids: Iterable[int]) -> set[int]:
    """Those of `user_ids` (staff in a call) who may see `payment`: its requester and the
    clinic's managers. One query."""
    candidates = set(user_ids)
    if not candidates:
        return set()
    managers = set(
        Membership.objects.filter(user_id__in=candidates, role__in=MANAGERS)
        .filter(
            Q(clinic_id=payment.clinic_id)
            | Q(clinic__isnull=True, organisation_id=payment.clinic.organisation_id)
        )
        .values_list("user_id", flat=True)
    )
    return {u for u in candidates if u == payment.requested_by_id or u in managers}


def clinician_in_call(actor: User, visit: Visit) -> bool:
    """Whether `actor` is in the call as a clinician right now (joined and not left)."""
    return Participant.objects.filter(
        visit=visit,
        user=actor,
        kind=ParticipantKind.CLINICIAN,
        left_at__isnull=True,
        joined_at__isnull=False,
    ).exists()


def clinician_in_call_require(actor: User, visit: Visit) -> None:
    """404 for someone outside the clinic, 403 for a member who is not in the call."""
    clinic_for_user(actor, visit.clinic_id)
    if not clinician_in_call(actor, visit):
        raise PermissionDenied(_("Only a clinician in this call can request payments in it."))


def payment_cancel_require(actor: User, payment: PaymentRequest) -> None:
    """A clinic manager, or a clinician in the payment's call, may cancel it."""
    access = clinic_for_user(actor, payment.clinic_id)
    if access.can_manage:
        return
    clinician_in_call_require(actor, payment.visit)
