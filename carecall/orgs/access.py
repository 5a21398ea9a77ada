"""The one way to reach an organisation, a clinic or a membership on behalf of a signed-in person.

Views, consumers and services all go through these helpers. Someone with no place in the
organisation gets 404 (we do not even confirm it exists); a member whose role does not allow the
action gets 403.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.orgs.models import Clinic, Membership, Organisation, Role

ANY_ROLE: frozenset[Role] = frozenset(Role)
MANAGERS: frozenset[Role] = frozenset({Role.ORG_ADMIN, Role.CLINIC_ADMIN})


@dataclass(frozen=True)
class ClinicAccess:
    clinic: Clinic
    roles: frozenset[Role]  # every role the person holds here (org admin counts for each clinic)

    @property
    def can_manage(self) -> bool:
        return bool(self.roles & MANAGERS)

    @property
    def is_org_admin(self) -> bool:
        return Role.ORG_ADMIN in self.roles

    @property
    def main_role(self) -> Role:
        for role in (Role.ORG_ADMIN, Role.CLINIC_ADMIN, Role.CLINICIAN):
            if role in self.roles:
                return role
        raise AssertionError("ClinicAccess without a role")


def _user_memberships(user: User, organisation_id: int) -> list[Membership]:
    if not user.is_authenticated:
        return []
    return list(Membership.objects.filter(user=user, organisation_id=organisation_id))


def organisation_for_user(
    user: User, organisation_id: int, *, roles: Collection[Role] = (Role.ORG_ADMIN,)
) -> Organisation:
    try:
        organisation = Organisation.objects.get(pk=organisation_id)
    except Organisation.DoesNotExist:
        raise Http404 from None
    memberships = _user_memberships(user, organisation.pk)
    if not memberships:
        raise Http404
    held = {Role(m.role) for m in memberships}
    if not held & set(roles):
        raise PermissionDenied(
            _("Only organisation admins of %(org)s can do this.") % {"org": organisation}
        )
    return organisation


def clinic_for_user(
    user: User, clinic_id: int, *, roles: Collection[Role] = ANY_ROLE
) -> ClinicAccess:
    try:
        clinic = Clinic.objects.select_related("organisation").get(pk=clinic_id)
    except Clinic.DoesNotExist:
        raise Http404 from None
    memberships = _user_memberships(user, clinic.organisation_id)
    if not memberships:
        raise Http404
    held = frozenset(
        Role(m.role) for m in memberships if m.role == Role.ORG_ADMIN or m.clinic_id == clinic.pk
    )
    if not held & set(roles):
        if not held:
            raise PermissionDenied(_("You are not a member of %(clinic)s.") % {"clinic": clinic})
        raise PermissionDenied(
            _("Your role at %(clinic)s does not allow this.") % {"clinic": clinic}
        )
    return ClinicAccess(clinic=clinic, roles=held)


def clinic_membership_for_user(
    user: User, clinic_id: int, membership_id: int
) -> tuple[ClinicAccess, Membership]:
    """A membership of a clinic, for someone who manages that clinic."""
    access = clinic_for_user(user, clinic_id, roles=MANAGERS)
    try:
        membership = Membership.objects.select_related("user").get(
            pk=membership_id, clinic=access.clinic
        )
    except Membership.DoesNotExist:
        raise Http404 from None
    return access, membership


def organisation_membership_for_user(
    user: User, organisation_id: int, membership_id: int
) -> tuple[Organisation, Membership]:
    """An organisation-level (org admin) membership, for an org admin of that organisation."""
    organisation = organisation_for_user(user, organisation_id)
    try:
        membership = Membership.objects.select_related("user").get(
            pk=membership_id, organisation=organisation, clinic__isnull=True
        )
    except Membership.DoesNotExist:
        raise Http404 from None
    return organisation, membership


def operator_required(user: User) -> None:
    """Platform operator pages: staff only."""
    if not (user.is_authenticated and user.is_staff):
        raise PermissionDenied(_("Only platform operators can see this page."))
