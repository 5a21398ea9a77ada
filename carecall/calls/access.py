"""Reaching a visit: staff through their clinic role, patients and guests through their token."""

from __future__ import annotations

import hashlib
import uuid

from django.http import Http404

from carecall.accounts.models import User
from carecall.calls.models import Participant, ParticipantKind, Visit
from carecall.orgs.access import ANY_ROLE, ClinicAccess, clinic_for_user
from carecall.orgs.models import Role


def token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def visit_for_staff(
    user: User, visit_id: uuid.UUID | str, *, roles: frozenset[Role] = ANY_ROLE
) -> tuple[ClinicAccess, Visit]:
    try:
        visit = Visit.objects.select_related("clinic").get(pk=visit_id)
    except (Visit.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    # Same 404/403 rules as the clinic's own pages.
    access = clinic_for_user(user, visit.clinic_id, roles=roles)
    return access, visit


def visit_for_token(raw_token: str) -> Visit:
    """The patient's visit behind their link; the token is the only key to it."""
    try:
        return Visit.objects.select_related("clinic").get(token_hash=token_hash(raw_token))
    except Visit.DoesNotExist:
        raise Http404 from None


def patient_of(visit: Visit) -> Participant:
    return Participant.objects.get(visit=visit, kind=ParticipantKind.PATIENT)


def guest_for_token(raw_token: str, *, claimed_ids: list[str]) -> Participant:
    """A guest's participant row, only for the browser that claimed the single-use link."""
    try:
        guest = Participant.objects.select_related("visit", "visit__clinic").get(
            token_hash=token_hash(raw_token), kind=ParticipantKind.GUEST
        )
    except Participant.DoesNotExist:
        raise Http404 from None
    if guest.claimed_at is not None and str(guest.pk) not in claimed_ids:
        raise Http404
    return guest


GUEST_SESSION_KEY = "carecall_guest_claims"
