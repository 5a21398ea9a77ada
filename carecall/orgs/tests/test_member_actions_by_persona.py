"""Changing clinics and members through the pages, as each persona; refusals change nothing."""

from __future__ import annotations

import pytest
from django.core import mail
from django.http.response import HttpResponseBase
from django.urls import reverse

from carecall.orgs.models import Clinic, Invitation, Membership, Organisation, Role
from testsupport.world import PERSONAS, World, client_for, make_user

MANAGERS_OK = {"org_admin", "clinic_admin"}
ORG_ADMIN_OK = {"org_admin"}

# The exact refusal each persona gets: a member of the organisation whose role does not allow
# the action gets 403; someone with no place in the organisation (another organisation's admin,
# a platform operator) gets 404; an anonymous visitor is sent to sign in (302).
REFUSED_BY_CLINIC = {
    "clinician": 403,
    "other_clinician": 403,
    "outsider": 404,
    "operator": 404,
    "anonymous": 302,
}
REFUSED_BY_ORGANISATION = {**REFUSED_BY_CLINIC, "clinic_admin": 403}


def _assert_refused(response: HttpResponseBase, persona: str, expected: dict[str, int]) -> None:
    assert response.status_code == expected[persona], (persona, response.status_code)
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("accounts:sign_in"))


@pytest.mark.parametrize("persona", PERSONAS)
def test_inviting_to_a_clinic_is_for_its_managers(
    world: World, persona: str, django_capture_on_commit_callbacks
) -> None:
    url = reverse("orgs:clinic_invite", args=[world.harbour.pk])
    data = {"email": "new.person@example.test", "role": "clinician"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.persona(persona)).post(url, data)
    if persona in MANAGERS_OK:
        assert response.status_code == 302
        assert (
            Invitation.objects.filter(email="new.person@example.test", clinic=world.harbour).count()
            == 1
        )
        assert len(mail.outbox) == 1
        assert "Harbour GP" in mail.outbox[0].subject
        assert "/accounts/invitations/" in mail.outbox[0].body
    else:
        _assert_refused(response, persona, REFUSED_BY_CLINIC)
        assert not Invitation.objects.exists()
        assert mail.outbox == []


@pytest.mark.parametrize("persona", PERSONAS)
def test_changing_a_clinic_role_is_for_its_managers(world: World, persona: str) -> None:
    member = world.membership(world.clinician, world.harbour)
    url = reverse("orgs:clinic_member_role", args=[world.harbour.pk, member.pk])
    response = client_for(world.persona(persona)).post(url, {f"m{member.pk}-role": "clinic_admin"})
    member.refresh_from_db()
    if persona in MANAGERS_OK:
        assert response.status_code == 302
        assert member.role == Role.CLINIC_ADMIN
    else:
        _assert_refused(response, persona, REFUSED_BY_CLINIC)
        assert member.role == Role.CLINICIAN


@pytest.mark.parametrize("persona", PERSONAS)
def test_removing_a_clinic_member_is_for_its_managers(world: World, persona: str) -> None:
    member = world.membership(world.clinician, world.harbour)
    url = reverse("orgs:clinic_member_remove", args=[world.harbour.pk, member.pk])
    response = client_for(world.persona(persona)).post(url)
    exists = Membership.objects.filter(pk=member.pk).exists()
    if persona in MANAGERS_OK:
        assert response.status_code == 302
        assert not exists
    else:
        _assert_refused(response, persona, REFUSED_BY_CLINIC)
        assert exists


@pytest.mark.parametrize("persona", PERSONAS)
def test_editing_a_clinic_is_for_its_managers(world: World, persona: str) -> None:
    url = reverse("orgs:clinic_edit", args=[world.harbour.pk])
    data = {"name": "Harbour General Practice", "timezone": "Australia/Perth", "currency": "AUD"}
    response = client_for(world.persona(persona)).post(url, data)
    world.harbour.refresh_from_db()
    if persona in MANAGERS_OK:
        assert response.status_code == 302
        assert world.harbour.name == "Harbour General Practice"
        assert world.harbour.timezone == "Australia/Perth"
    else:
        _assert_refused(response, persona, REFUSED_BY_CLINIC)
        assert world.harbour.name == "Harbour GP"


@pytest.mark.parametrize("persona", PERSONAS)
def test_creating_a_clinic_is_for_org_admins(world: World, persona: str) -> None:
    url = reverse("orgs:clinic_create", args=[world.organisation.pk])
    data = {"name": "Eastside Dental", "timezone": "Australia/Brisbane", "currency": "AUD"}
    response = client_for(world.persona(persona)).post(url, data)
    created = Clinic.objects.filter(name="Eastside Dental").first()
    if persona in ORG_ADMIN_OK:
        assert response.status_code == 302
        assert created is not None and created.organisation == world.organisation
        # The creator is its first clinic admin, so the clinic is never without one.
        assert world.membership(world.org_admin, created).role == Role.CLINIC_ADMIN
    else:
        _assert_refused(response, persona, REFUSED_BY_ORGANISATION)
        assert created is None


@pytest.mark.parametrize("persona", PERSONAS)
def test_inviting_an_org_admin_is_for_org_admins(world: World, persona: str) -> None:
    url = reverse("orgs:organisation_invite", args=[world.organisation.pk])
    response = client_for(world.persona(persona)).post(url, {"email": "boss@example.test"})
    invited = Invitation.objects.filter(email="boss@example.test", role=Role.ORG_ADMIN).exists()
    if persona in ORG_ADMIN_OK:
        assert response.status_code == 302 and invited
    else:
        _assert_refused(response, persona, REFUSED_BY_ORGANISATION)
        assert not invited


@pytest.mark.parametrize("persona", PERSONAS)
def test_withdrawing_a_clinic_invitation_is_for_its_managers(world: World, persona: str) -> None:
    client_for(world.clinic_admin).post(
        reverse("orgs:clinic_invite", args=[world.harbour.pk]),
        {"email": "maybe@example.test", "role": "clinician"},
    )
    invitation = Invitation.objects.get(email="maybe@example.test")
    response = client_for(world.persona(persona)).post(
        reverse("orgs:invitation_withdraw", args=[invitation.pk])
    )
    invitation.refresh_from_db()
    if persona in MANAGERS_OK:
        assert response.status_code == 302 and invitation.revoked_at is not None
    else:
        _assert_refused(response, persona, REFUSED_BY_CLINIC)
        assert invitation.revoked_at is None


@pytest.mark.parametrize("persona", PERSONAS)
def test_removing_an_org_admin_is_for_org_admins(world: World, persona: str) -> None:
    second = make_user("second.admin@example.test", "Second Admin")
    member = Membership.objects.create(
        user=second, organisation=world.organisation, role=Role.ORG_ADMIN
    )
    url = reverse("orgs:organisation_admin_remove", args=[world.organisation.pk, member.pk])
    response = client_for(world.persona(persona)).post(url)
    exists = Membership.objects.filter(pk=member.pk).exists()
    if persona in ORG_ADMIN_OK:
        assert response.status_code == 302
        assert response["Location"] == reverse("orgs:organisation", args=[world.organisation.pk])
        assert not exists
    else:
        _assert_refused(response, persona, REFUSED_BY_ORGANISATION)
        assert exists


@pytest.mark.parametrize("persona", PERSONAS)
def test_creating_an_organisation_is_for_operators(world: World, persona: str) -> None:
    url = reverse("orgs:operator_organisation_create")
    data = {"name": "Southern Health", "admin_email": "first@southern.test"}
    response = client_for(world.persona(persona)).post(url, data)
    created = Organisation.objects.filter(name="Southern Health").exists()
    if persona == "operator":
        assert response.status_code == 302 and created
        assert Invitation.objects.get(email="first@southern.test").role == Role.ORG_ADMIN
    else:
        assert response.status_code == (302 if persona == "anonymous" else 403)
        assert not created


def test_a_clinic_admin_cannot_invite_an_org_admin_through_the_clinic_form(world: World) -> None:
    response = client_for(world.clinic_admin).post(
        reverse("orgs:clinic_invite", args=[world.harbour.pk]),
        {"email": "sneaky@example.test", "role": "org_admin"},
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_clinic_admin_cannot_manage_another_clinic(world: World) -> None:
    response = client_for(world.clinic_admin).post(
        reverse("orgs:clinic_invite", args=[world.northside.pk]),
        {"email": "x@example.test", "role": "clinician"},
    )
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_inviting_an_existing_member_says_so_and_sends_nothing(world: World) -> None:
    response = client_for(world.clinic_admin).post(
        reverse("orgs:clinic_invite", args=[world.harbour.pk]),
        {"email": "Chris@Example.test", "role": "clinician"},
    )
    assert response.status_code == 400
    assert "chris@example.test is already a member of Harbour GP." in response.content.decode()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_demoting_the_last_clinic_admin_is_refused_with_a_message(world: World) -> None:
    member = world.membership(world.clinic_admin, world.harbour)
    url = reverse("orgs:clinic_member_role", args=[world.harbour.pk, member.pk])
    response = client_for(world.clinic_admin).post(
        url, {f"m{member.pk}-role": "clinician"}, follow=True
    )
    assert "Harbour GP must keep at least one clinic admin" in response.content.decode()
    member.refresh_from_db()
    assert member.role == Role.CLINIC_ADMIN


def test_removing_the_last_org_admin_is_refused_with_a_message(world: World) -> None:
    member = world.membership(world.org_admin)
    url = reverse("orgs:organisation_admin_remove", args=[world.organisation.pk, member.pk])
    response = client_for(world.org_admin).post(url, follow=True)
    assert "Demo Health must keep at least one organisation admin" in response.content.decode()
    assert Membership.objects.filter(pk=member.pk).exists()


def test_a_malformed_role_change_changes_nothing(world: World) -> None:
    member = world.membership(world.clinician, world.harbour)
    url = reverse("orgs:clinic_member_role", args=[world.harbour.pk, member.pk])
    response = client_for(world.clinic_admin).post(
        url, {f"m{member.pk}-role": "org_admin"}, follow=True
    )
    assert "Choose clinic admin or clinician." in response.content.decode()
    member.refresh_from_db()
    assert member.role == Role.CLINICIAN


def test_clinic_form_rejects_an_unknown_time_zone_with_a_message(world: World) -> None:
    response = client_for(world.org_admin).post(
        reverse("orgs:clinic_edit", args=[world.harbour.pk]),
        {"name": "Harbour GP", "timezone": "Mars/Olympus", "currency": "AUD"},
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    world.harbour.refresh_from_db()
    assert world.harbour.timezone == "Australia/Sydney"


@pytest.mark.parametrize("actor", ["org_admin", "clinic_admin"])
def test_removing_the_last_clinic_admin_is_refused_with_a_message_and_changes_nothing(
    world: World, actor: str
) -> None:
    from carecall.audit.models import AuditEntry

    member = world.membership(world.clinic_admin, world.harbour)
    memberships_before = sorted(Membership.objects.values_list("pk", "role"))
    audit_before = AuditEntry.objects.count()
    url = reverse("orgs:clinic_member_remove", args=[world.harbour.pk, member.pk])
    response = client_for(world.persona(actor)).post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("orgs:clinic_members", args=[world.harbour.pk])
    assert "Harbour GP must keep at least one clinic admin" in response.content.decode()
    assert sorted(Membership.objects.values_list("pk", "role")) == memberships_before
    assert AuditEntry.objects.count() == audit_before
