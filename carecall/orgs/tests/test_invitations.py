"""Invitations: sending, accepting (new and existing accounts), and every bad link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from carecall.accounts.models import User
from carecall.core.errors import ServiceError
from carecall.orgs.invitations import invitation_create
from carecall.orgs.models import Invitation, Membership, Role
from testsupport.world import World, client_for


def _invite(
    world: World, capture, email: str = "new@example.test", role: Role = Role.CLINICIAN
) -> str:
    with capture(execute=True):
        invitation_create(
            actor=world.clinic_admin,
            organisation=world.organisation,
            clinic=world.harbour,
            email=email,
            role=role,
        )
    body = str(mail.outbox[-1].body)
    match = re.search(r"http://testserver(/accounts/invitations/[^/\s]+/)", body)
    assert match, body
    return match.group(1)


def test_new_person_accepts_by_creating_an_account_and_lands_on_home(
    world: World, django_capture_on_commit_callbacks
) -> None:
    link = _invite(world, django_capture_on_commit_callbacks)
    client = client_for(None)
    page = client.get(link)
    assert page.status_code == 200
    assert "Create your account" in page.content.decode()
    response = client.post(
        link,
        {
            "full_name": "Nadia New",
            "password": "correct horse battery",
            "password_again": "correct horse battery",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("orgs:home")
    user = User.objects.get(email="new@example.test")
    assert user.full_name == "Nadia New"
    assert user.check_password("correct horse battery")
    assert Membership.objects.get(user=user).role == Role.CLINICIAN
    home = client.get(reverse("orgs:home")).content.decode()
    assert "Harbour GP" in home


def test_existing_account_must_sign_in_then_accepts_and_gains_the_membership(
    world: World, django_capture_on_commit_callbacks
) -> None:
    link = _invite(world, django_capture_on_commit_callbacks, email=world.other_clinician.email)
    page = client_for(None).get(link).content.decode()
    assert "Sign in to accept" in page
    client = client_for(world.other_clinician)
    assert client.post(link).status_code == 302
    assert world.membership(world.other_clinician, world.harbour).role == Role.CLINICIAN
    # Their other clinic is untouched.
    assert world.membership(world.other_clinician, world.northside).role == Role.CLINICIAN


def test_signed_in_as_someone_else_cannot_accept(
    world: World, django_capture_on_commit_callbacks
) -> None:
    link = _invite(world, django_capture_on_commit_callbacks)
    client = client_for(world.clinician)
    assert "You are signed in as someone else" in client.get(link).content.decode()
    client.post(link)
    assert not User.objects.filter(email="new@example.test").exists()
    assert Invitation.objects.get().accepted_at is None


def test_a_used_invitation_cannot_be_used_again(
    world: World, django_capture_on_commit_callbacks
) -> None:
    link = _invite(world, django_capture_on_commit_callbacks)
    data = {
        "full_name": "Nadia New",
        "password": "correct horse battery",
        "password_again": "correct horse battery",
    }
    client_for(None).post(link, data)
    again = client_for(None).post(link, data)
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert User.objects.filter(email="new@example.test").count() == 1


def test_an_expired_invitation_says_so_and_creates_nothing(
    world: World, django_capture_on_commit_callbacks
) -> None:
    link = _invite(world, django_capture_on_commit_callbacks)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client_for(None).post(
        link,
        {
            "full_name": "Late",
            "password": "correct horse battery",
            "password_again": "correct horse battery",
        },
    )
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not User.objects.filter(email="new@example.test").exists()


def test_invitations_expire_after_30_days(world: World, django_capture_on_commit_callbacks) -> None:
    _invite(world, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()
    assert abs(invitation.expires_at - (invitation.created_at + timedelta(days=30))) < timedelta(
        seconds=5
    )


def test_a_tampered_token_is_not_valid(world: World, django_capture_on_commit_callbacks) -> None:
    link = _invite(world, django_capture_on_commit_callbacks)
    tampered = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    response = client_for(None).get(tampered)
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_reinviting_replaces_the_earlier_link(
    world: World, django_capture_on_commit_callbacks
) -> None:
    first = _invite(world, django_capture_on_commit_callbacks)
    second = _invite(world, django_capture_on_commit_callbacks)
    assert client_for(None).get(first).status_code == 410
    assert client_for(None).get(second).status_code == 200


def test_only_a_hash_of_the_token_is_stored(
    world: World, django_capture_on_commit_callbacks
) -> None:
    link = _invite(world, django_capture_on_commit_callbacks)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert len(token) >= 40
    assert not Invitation.objects.filter(token_hash=token).exists()


def test_mismatched_passwords_are_refused_with_a_message(
    world: World, django_capture_on_commit_callbacks
) -> None:
    link = _invite(world, django_capture_on_commit_callbacks)
    response = client_for(None).post(
        link, {"full_name": "Nadia", "password": "correct horse battery", "password_again": "other"}
    )
    assert response.status_code == 400
    assert "The two passwords are not the same." in response.content.decode()
    assert Invitation.objects.get().accepted_at is None


def test_a_weak_password_is_refused_with_the_reason(
    world: World, django_capture_on_commit_callbacks
) -> None:
    link = _invite(world, django_capture_on_commit_callbacks)
    response = client_for(None).post(
        link, {"full_name": "Nadia", "password": "12345678", "password_again": "12345678"}
    )
    assert response.status_code == 400
    assert "too common" in response.content.decode()
    assert not User.objects.filter(email="new@example.test").exists()


def test_clinic_admin_cannot_invite_an_org_admin(world: World) -> None:
    with pytest.raises(PermissionDenied):
        invitation_create(
            actor=world.clinic_admin,
            organisation=world.organisation,
            clinic=None,
            email="boss@example.test",
            role=Role.ORG_ADMIN,
        )
    assert not Invitation.objects.exists()


def test_clinician_cannot_invite(world: World) -> None:
    with pytest.raises(PermissionDenied):
        invitation_create(
            actor=world.clinician,
            organisation=world.organisation,
            clinic=world.harbour,
            email="x@example.test",
            role=Role.CLINICIAN,
        )


def test_an_outsider_cannot_invite_into_the_organisation(world: World) -> None:
    with pytest.raises(Exception) as caught:
        invitation_create(
            actor=world.outsider,
            organisation=world.organisation,
            clinic=world.harbour,
            email="x@example.test",
            role=Role.CLINICIAN,
        )
    assert caught.type.__name__ == "Http404"


def test_an_org_admin_invitation_cannot_name_a_clinic(world: World) -> None:
    with pytest.raises(ServiceError):
        invitation_create(
            actor=world.org_admin,
            organisation=world.organisation,
            clinic=world.harbour,
            email="x@example.test",
            role=Role.ORG_ADMIN,
        )


def test_an_invalid_email_is_refused(world: World) -> None:
    with pytest.raises(ServiceError, match="valid email"):
        invitation_create(
            actor=world.org_admin,
            organisation=world.organisation,
            clinic=world.harbour,
            email="not an email",
            role=Role.CLINICIAN,
        )


NEW_ACCOUNT = {
    "full_name": "Nadia New",
    "password": "correct horse battery",
    "password_again": "correct horse battery",
}


def test_invitation_roles_are_limited_to_the_three_roles() -> None:
    """Spelled out rather than compared with Role.choices, so a fourth role (or a renamed one)
    added to Role fails here until invitations are meant to offer it."""
    field = Invitation._meta.get_field("role")
    assert [value for value, _label in field.choices or ()] == [
        "org_admin",
        "clinic_admin",
        "clinician",
    ]
    for bad in ("superhero", "operator", ""):
        with pytest.raises(ValidationError):
            field.clean(bad, None)


@pytest.mark.parametrize(
    ("role", "clinic"),
    [("superhero", True), ("", True), ("org_admin", True), ("clinician", False)],
    ids=["unknown role", "empty role", "org admin of a clinic", "clinician of no clinic"],
)
def test_a_bad_stored_role_never_breaks_the_invitation_page_and_creates_nothing(
    world: World, django_capture_on_commit_callbacks, role: str, clinic: bool
) -> None:
    link = _invite(world, django_capture_on_commit_callbacks)
    Invitation.objects.update(role=role, clinic=world.harbour if clinic else None)
    memberships = Membership.objects.count()
    page = client_for(None).get(link)
    assert page.status_code == 410
    assert "This invitation cannot be used" in page.content.decode()
    response = client_for(None).post(link, NEW_ACCOUNT)
    assert response.status_code == 410
    assert "This invitation cannot be used" in response.content.decode()
    assert not User.objects.filter(email="new@example.test").exists()
    assert Membership.objects.count() == memberships
    assert Invitation.objects.get().accepted_at is None


def test_role_label_of_an_unknown_role_says_so(world: World) -> None:
    invitation = Invitation(email="x@example.test", role="superhero")
    assert invitation.role_label == "Unknown role"
    assert Invitation(email="x@example.test", role=Role.CLINICIAN).role_label == "Clinician"


def test_pending_invitations_list_survives_a_bad_stored_role(
    world: World, django_capture_on_commit_callbacks
) -> None:
    _invite(world, django_capture_on_commit_callbacks)
    Invitation.objects.update(role="superhero")
    page = client_for(world.clinic_admin).get(
        reverse("orgs:clinic_members", args=[world.harbour.pk])
    )
    assert page.status_code == 200
    assert "Unknown role" in page.content.decode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"revoked_at": "now"}, "withdrawn or replaced"),
        ({"expires_at": "past"}, "expired"),
        ({"accepted_at": "now"}, "already been used"),
    ],
    ids=["withdrawn", "expired", "used"],
)
def test_accepting_rechecks_the_invitation_after_locking_it(
    world: World, django_capture_on_commit_callbacks, monkeypatch, change, message
) -> None:
    """Between reading the link and locking the row, the invitation may be withdrawn, expire
    or be used; the locked row is checked again and nothing is created."""
    from carecall.orgs import invitations as services

    link = _invite(world, django_capture_on_commit_callbacks)
    read_link = services.invitation_for_token

    def read_then_change(raw_token: str) -> Invitation:
        invitation = read_link(raw_token)
        now = timezone.now()
        values = {
            key: now - timedelta(seconds=1) if value == "past" else now
            for key, value in change.items()
        }
        Invitation.objects.filter(pk=invitation.pk).update(**values)
        return invitation

    monkeypatch.setattr(services, "invitation_for_token", read_then_change)
    memberships = Membership.objects.count()
    with pytest.raises(services.InvitationProblem, match=message):
        services.invitation_accept(
            raw_token=link.split("/")[-2], user=None, full_name="Nadia", password="correct horse"
        )
    assert not User.objects.filter(email="new@example.test").exists()
    assert Membership.objects.count() == memberships
