from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.utils import timezone

from carecall.accounts.models import User
from carecall.orgs.access import ClinicAccess
from carecall.orgs.models import Clinic, Invitation, Membership, Organisation, Role


@dataclass(frozen=True)
class HomeOrganisation:
    organisation: Organisation
    is_org_admin: bool
    clinics: list[ClinicAccess]


def home_for_user(user: User) -> list[HomeOrganisation]:
    """Each organisation the person belongs to, with the clinics they can open and their roles."""
    memberships = list(
        Membership.objects.filter(user=user).select_related("organisation", "clinic")
    )
    admin_orgs = {m.organisation_id for m in memberships if m.role == Role.ORG_ADMIN}
    clinic_roles: dict[int, set[Role]] = defaultdict(set)
    for m in memberships:
        if m.clinic_id is not None:
            clinic_roles[m.clinic_id].add(Role(m.role))
    organisations = {m.organisation_id: m.organisation for m in memberships}
    clinics = Clinic.objects.filter(organisation_id__in=admin_orgs) | Clinic.objects.filter(
        pk__in=clinic_roles.keys()
    )
    by_org: dict[int, list[ClinicAccess]] = defaultdict(list)
    for clinic in clinics.order_by("name"):
        roles = set(clinic_roles.get(clinic.pk, set()))
        if clinic.organisation_id in admin_orgs:
            roles.add(Role.ORG_ADMIN)
        by_org[clinic.organisation_id].append(ClinicAccess(clinic=clinic, roles=frozenset(roles)))
    return [
        HomeOrganisation(
            organisation=org, is_org_admin=org.pk in admin_orgs, clinics=by_org.get(org.pk, [])
        )
        for org in sorted(organisations.values(), key=lambda o: o.name)
    ]


def clinic_members(clinic: Clinic) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(clinic=clinic)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def organisation_admins(organisation: Organisation) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organisation=organisation, clinic__isnull=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def pending_invitations(
    organisation: Organisation, *, clinic: Clinic | None
) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        organisation=organisation,
        clinic=clinic,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).order_by("email")


def organisations_for_operator() -> QuerySet[Organisation]:
    return Organisation.objects.annotate(
        clinic_count=Count("clinics", distinct=True),
        member_count=Count("memberships__user", distinct=True),
    ).order_by("name")
