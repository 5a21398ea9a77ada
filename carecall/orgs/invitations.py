"""Invitations: an emailed, single-use link that makes someone a member of an organisation or
clinic (creating their account when they have none)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from carecall.accounts.models import User, normalise_email
from carecall.accounts.services import user_create
from carecall.core.errors import ServiceError
from carecall.notifications.services import email_send
from carecall.orgs.access import clinic_for_user, organisation_for_user
from carecall.orgs.models import CLINIC_ROLES, Clinic, Invitation, Membership, Organisation, Role
from carecall.orgs.services import membership_add
from carecall.orgs.signals import member_changed


def token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def _check_can_invite(
    actor: User, organisation: Organisation, clinic: Clinic | None, role: Role
) -> None:
    if role == Role.ORG_ADMIN:
        if clinic is not None:
            raise ServiceError(_("Organisation admins are invited to the organisation."))
        if actor.is_staff:
            return  # platform operators set up organisations and their first admins
        organisation_for_user(actor, organisation.pk, roles=(Role.ORG_ADMIN,))
        return
    if role not in CLINIC_ROLES or clinic is None:
        raise ServiceError(_("Choose clinic admin or clinician."), field="role")
    if clinic.organisation_id != organisation.pk:
        raise PermissionDenied(_("That clinic belongs to another organisation."))
    clinic_for_user(actor, clinic.pk, roles=(Role.ORG_ADMIN, Role.CLINIC_ADMIN))


def invitation_accept_url(raw_token: str) -> str:
    return f"{settings.SITE_URL}{reverse('orgs:invitation', args=[raw_token])}"


@transaction.atomic
def invitation_create(
    *,
    actor: User,
    organisation: Organisation,
    clinic: Clinic | None,
    email: str,
    role: Role,
) -> Invitation:
    """Invite someone by email. Inviting the same address again replaces the earlier link."""
    _check_can_invite(actor, organisation, clinic, role)
    email = normalise_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(_("Enter a valid email address."), field="email") from None
    place = clinic or organisation
    if Membership.objects.filter(
        user__email=email, organisation=organisation, clinic=clinic
    ).exists():
        raise ServiceError(
            _("%(email)s is already a member of %(place)s.") % {"email": email, "place": place},
            field="email",
        )
    now = timezone.now()
    Invitation.objects.filter(
        organisation=organisation,
        clinic=clinic,
        email=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).update(revoked_at=now)
    raw_token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organisation=organisation,
        clinic=clinic,
        email=email,
        role=role,
        token_hash=token_hash(raw_token),
        invited_by=actor,
        expires_at=now + timedelta(days=settings.INVITATION_DAYS),
    )
    email_send(
        to=email,
        template="orgs/email/invitation",
        context={
            "invitation": invitation,
            "place": place,
            "role": Role(role).label,
            "inviter": actor,
            "accept_url": invitation_accept_url(raw_token),
        },
    )
    return invitation


class InvitationProblem(Exception):
    """Why an invitation link cannot be used, in words for the person holding it."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def invitation_for_token(raw_token: str) -> Invitation:
    """The pending invitation behind a link, or an InvitationProblem saying what is wrong."""
    try:
        invitation = Invitation.objects.select_related("organisation", "clinic").get(
            token_hash=token_hash(raw_token)
        )
    except Invitation.DoesNotExist:
        raise InvitationProblem(
            _(
                "This invitation link is not valid. "
                "Check that you copied all of it, or ask for a new one."
            ),
            404,
        ) from None
    _check_usable(invitation)
    return invitation


def _check_usable(invitation: Invitation) -> None:
    """Raise an InvitationProblem unless the invitation can be accepted now."""
    if invitation.accepted_at is not None:
        raise InvitationProblem(
            _("This invitation has already been used. Sign in with the email it was sent to."), 410
        )
    if invitation.revoked_at is not None:
        raise InvitationProblem(
            _("This invitation was withdrawn or replaced by a newer one. Use the latest email."),
            410,
        )
    if invitation.expires_at <= timezone.now():
        raise InvitationProblem(
            _("This invitation expired. Ask the person who invited you to send a new one."), 410
        )
    if invitation.role not in Role.values or (invitation.clinic_id is None) != (
        invitation.role == Role.ORG_ADMIN
    ):
        raise InvitationProblem(
            _("This invitation cannot be used. Ask the person who invited you for a new one."), 410
        )


@transaction.atomic
def invitation_accept(
    *,
    raw_token: str,
    user: User | None,
    full_name: str = "",
    password: str | None = None,
) -> tuple[User, Membership]:
    """Accept an invitation: as the signed-in invitee, or by creating their account."""
    invitation = invitation_for_token(raw_token)
    # Lock it so that two clicks cannot both use it.
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("organisation", "clinic")
        .get(pk=invitation.pk)
    )
    # Re-checked under the lock: it may have been used, withdrawn or expired meanwhile.
    _check_usable(invitation)
    if user is None:
        if User.objects.filter(email=invitation.email).exists():
            raise ServiceError(_("An account with this email exists: sign in to accept."))
        if not password:
            raise ServiceError(_("Choose a password."), field="password")
        user = user_create(email=invitation.email, full_name=full_name, password=password)
    elif user.email != invitation.email:
        raise ServiceError(
            _("This invitation is for %(email)s. Sign out, then open the link again.")
            % {"email": invitation.email}
        )
    membership = membership_add(
        user=user,
        organisation=invitation.organisation,
        clinic=invitation.clinic,
        role=Role(invitation.role),
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
    inviter = invitation.invited_by.get_full_name() if invitation.invited_by else "CareCall"
    member_changed.send(
        sender=Membership,
        change="added",
        actor=user,
        organisation=invitation.organisation,
        clinic=invitation.clinic,
        user=user,
        summary=f"{user.get_full_name()} ({user.email}) joined as "
        f"{Role(invitation.role).label} (invited by {inviter})",
    )
    return user, membership


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> None:
    _check_can_invite(actor, invitation.organisation, invitation.clinic, Role(invitation.role))
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        revoked_at=timezone.now()
    )
