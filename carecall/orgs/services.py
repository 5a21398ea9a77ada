"""Changes to organisations, clinics and memberships, and the rules on who may make them."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.core.currencies import CURRENCIES
from carecall.core.errors import ServiceError
from carecall.orgs.access import clinic_for_user, organisation_for_user
from carecall.orgs.models import (
    CLINIC_ROLES,
    Clinic,
    Membership,
    Organisation,
    Role,
    validate_timezone,
)
from carecall.orgs.signals import clinic_currency_changing, member_changed


def _unique_slug(model: type[Organisation] | type[Clinic], name: str) -> str:
    base = slugify(name)[:50] or "clinic"
    slug, n = base, 2
    while model.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def organisation_create(*, actor: User, name: str) -> Organisation:
    if not actor.is_staff:
        raise PermissionDenied(_("Only platform operators can create organisations."))
    name = name.strip()
    if not name:
        raise ServiceError(_("Enter the organisation's name."), field="name")
    return Organisation.objects.create(name=name, slug=_unique_slug(Organisation, name))


def _check_clinic_fields(*, name: str, timezone: str, currency: str) -> str:
    name = name.strip()
    if not name:
        raise ServiceError(_("Enter the clinic's name."), field="name")
    try:
        validate_timezone(timezone)
    except Exception:
        raise ServiceError(_("Choose a time zone from the list."), field="timezone") from None
    if currency not in CURRENCIES:
        raise ServiceError(_("Choose a currency from the list."), field="currency")
    return name


@transaction.atomic
def clinic_create(
    *, actor: User, organisation: Organisation, name: str, timezone: str, currency: str = "AUD"
) -> Clinic:
    """An org admin opens a clinic and becomes its first clinic admin, so it is never adminless."""
    organisation_for_user(actor, organisation.pk, roles=(Role.ORG_ADMIN,))
    name = _check_clinic_fields(name=name, timezone=timezone, currency=currency)
    clinic = Clinic.objects.create(
        organisation=organisation,
        name=name,
        slug=_unique_slug(Clinic, name),
        timezone=timezone,
        currency=currency,
    )
    Membership.objects.create(
        user=actor, organisation=organisation, clinic=clinic, role=Role.CLINIC_ADMIN
    )
    return clinic


def clinic_update(
    *, actor: User, clinic: Clinic, name: str, timezone: str, currency: str
) -> Clinic:
    clinic_for_user(actor, clinic.pk, roles=(Role.ORG_ADMIN, Role.CLINIC_ADMIN))
    clinic.name = _check_clinic_fields(name=name, timezone=timezone, currency=currency)
    if currency != clinic.currency:
        clinic_currency_changing.send(sender=Clinic, clinic=clinic, currency=currency)
    clinic.timezone = timezone
    clinic.currency = currency
    clinic.save(update_fields=["name", "timezone", "currency", "updated_at"])
    return clinic


def membership_add(
    *, user: User, organisation: Organisation, clinic: Clinic | None, role: Role
) -> Membership:
    """Give a person a role in a place (used by accepted invitations and the demo seed)."""
    if clinic is not None and clinic.organisation_id != organisation.pk:
        raise ServiceError(_("That clinic belongs to another organisation."))
    if (role == Role.ORG_ADMIN) != (clinic is None):
        raise ServiceError(_("Organisation admins belong to the organisation, others to a clinic."))
    try:
        with transaction.atomic():
            return Membership.objects.create(
                user=user, organisation=organisation, clinic=clinic, role=role
            )
    except IntegrityError:
        place = clinic or organisation
        raise ServiceError(
            _("%(email)s is already a member of %(place)s.") % {"email": user.email, "place": place}
        ) from None


def _check_can_manage(actor: User, membership: Membership) -> None:
    if membership.clinic_id is None:
        organisation_for_user(actor, membership.organisation_id, roles=(Role.ORG_ADMIN,))
    else:
        clinic_for_user(actor, membership.clinic_id, roles=(Role.ORG_ADMIN, Role.CLINIC_ADMIN))


def _lock_place(membership_id: int) -> Membership:
    """Lock the membership's clinic (or organisation) row, then read the membership afresh.

    Every role change in one place queues on that one row, so two admins demoting each other at
    the same moment cannot both succeed and leave the place without an admin.
    """
    try:
        place = Membership.objects.values("organisation_id", "clinic_id").get(pk=membership_id)
    except Membership.DoesNotExist:
        raise ServiceError(_("That person is no longer a member.")) from None
    if place["clinic_id"] is None:
        Organisation.objects.select_for_update().get(pk=place["organisation_id"])
    else:
        Clinic.objects.select_for_update().get(pk=place["clinic_id"])
    return Membership.objects.select_related("clinic", "organisation", "user").get(pk=membership_id)


def _keep_an_admin(membership: Membership) -> None:
    """Refuse a change that would leave the place of `membership` without an admin."""
    if membership.clinic_id is None:
        others = Membership.objects.filter(
            organisation_id=membership.organisation_id, clinic__isnull=True, role=Role.ORG_ADMIN
        )
        if not others.exclude(pk=membership.pk).exists():
            raise ServiceError(
                _(
                    "%(org)s must keep at least one organisation admin. "
                    "Invite another organisation admin first."
                )
                % {"org": membership.organisation}
            )
    elif membership.role == Role.CLINIC_ADMIN:
        others = Membership.objects.filter(clinic_id=membership.clinic_id, role=Role.CLINIC_ADMIN)
        if not others.exclude(pk=membership.pk).exists():
            raise ServiceError(
                _(
                    "%(clinic)s must keep at least one clinic admin. "
                    "Make someone else a clinic admin first."
                )
                % {"clinic": membership.clinic}
            )


@transaction.atomic
def membership_change_role(*, actor: User, membership: Membership, role: Role) -> Membership:
    membership = _lock_place(membership.pk)
    _check_can_manage(actor, membership)
    if membership.clinic_id is None or role not in CLINIC_ROLES:
        raise ServiceError(
            _("A clinic member can be made a clinic admin or a clinician."), field="role"
        )
    if membership.role == role:
        return membership
    _keep_an_admin(membership)
    old = Role(membership.role).label
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    _member_changed(
        actor,
        membership,
        "role_changed",
        f"{membership.user.get_full_name()} ({membership.user.email}): {old} → {role.label}",
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: User, membership: Membership) -> None:
    membership = _lock_place(membership.pk)
    _check_can_manage(actor, membership)
    _keep_an_admin(membership)
    _member_changed(
        actor,
        membership,
        "removed",
        f"Removed {membership.user.get_full_name()} ({membership.user.email}), "
        f"{Role(membership.role).label}",
    )
    membership.delete()


def _member_changed(actor: User | None, membership: Membership, change: str, summary: str) -> None:
    member_changed.send(
        sender=Membership,
        change=change,
        actor=actor,
        organisation=membership.organisation,
        clinic=membership.clinic,
        user=membership.user,
        summary=summary,
    )
