"""Every organisation and clinic page, opened by each persona: who gets in, who gets 403/404."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.urls import reverse
from django.utils import timezone

from carecall.accounts.backends import StaffOperatorBackend
from carecall.accounts.models import User
from carecall.orgs.models import Clinic, Membership, Organisation, Role
from carecall.payments.models import StripeEvent
from testsupport.world import PASSWORD, PERSONAS, World, client_for

SIGN_IN = "SIGN_IN"

# Expected status per persona, in the order of conftest.PERSONAS:
# org_admin, clinic_admin, clinician, other_clinician, outsider, operator, anonymous
ORG_ADMIN_ONLY = [200, 403, 403, 403, 404, 404, SIGN_IN]
CLINIC_MANAGERS = [200, 200, 403, 403, 404, 404, SIGN_IN]
CLINIC_MEMBERS = [200, 200, 200, 403, 404, 404, SIGN_IN]
EVERY_SIGNED_IN = [200, 200, 200, 200, 200, 200, SIGN_IN]
OPERATORS_ONLY = [403, 403, 403, 403, 403, 200, SIGN_IN]

PAGES: dict[str, tuple[Callable[[World], str], list[object]]] = {
    "home": (lambda w: reverse("orgs:home"), EVERY_SIGNED_IN),
    "organisation": (
        lambda w: reverse("orgs:organisation", args=[w.organisation.pk]),
        ORG_ADMIN_ONLY,
    ),
    "new clinic": (
        lambda w: reverse("orgs:clinic_create", args=[w.organisation.pk]),
        ORG_ADMIN_ONLY,
    ),
    "remove org admin (confirm)": (
        lambda w: reverse(
            "orgs:organisation_admin_remove",
            args=[w.organisation.pk, w.membership(w.org_admin).pk],
        ),
        ORG_ADMIN_ONLY,
    ),
    "clinic": (lambda w: reverse("orgs:clinic", args=[w.harbour.pk]), CLINIC_MEMBERS),
    "clinic settings": (
        lambda w: reverse("orgs:clinic_edit", args=[w.harbour.pk]),
        CLINIC_MANAGERS,
    ),
    "clinic members": (
        lambda w: reverse("orgs:clinic_members", args=[w.harbour.pk]),
        CLINIC_MANAGERS,
    ),
    "remove clinic member (confirm)": (
        lambda w: reverse(
            "orgs:clinic_member_remove",
            args=[w.harbour.pk, w.membership(w.clinician, w.harbour).pk],
        ),
        CLINIC_MANAGERS,
    ),
    "operator organisations": (lambda w: reverse("orgs:operator_organisations"), OPERATORS_ONLY),
}

CASES = [
    pytest.param(page, persona, expected[i], id=f"{page}-as-{persona}")
    for page, (_, expected) in PAGES.items()
    for i, persona in enumerate(PERSONAS)
]


@pytest.mark.parametrize(("page", "persona", "expected"), CASES)
def test_page_answers_each_persona_as_their_role_allows(
    world: World, page: str, persona: str, expected: object
) -> None:
    url = PAGES[page][0](world)
    response = client_for(world.persona(persona)).get(url)
    if expected == SIGN_IN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:sign_in"))
    else:
        assert response.status_code == expected, response.content[:300]


@pytest.mark.parametrize(
    "url",
    [
        "/clinics/999999/",
        "/clinics/abc/",
        "/clinics/-1/members/",
        "/orgs/999999/",
        "/orgs/1e9/clinics/new/",
        "/clinics/1/members/999999/remove/",
        "/invitations/notanumber/withdraw/",
        "/accounts/invitations/%00/",
    ],
)
def test_unknown_or_malformed_ids_are_404_never_500(world: World, url: str) -> None:
    response = client_for(world.org_admin).get(url)
    assert response.status_code == 404


BIG = "99999999999999999999"  # more than a 64-bit integer holds


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", f"/clinics/{BIG}/"),
        ("get", f"/clinics/{BIG}/edit/"),
        ("get", f"/clinics/{BIG}/members/"),
        ("post", f"/clinics/{BIG}/members/invite/"),
        ("get", f"/clinics/{{harbour}}/members/{BIG}/remove/"),
        ("post", f"/clinics/{{harbour}}/members/{BIG}/role/"),
        ("post", f"/clinics/{BIG}/members/{BIG}/remove/"),
        ("post", f"/clinics/{BIG}/members/1/role/"),
        ("get", f"/orgs/{BIG}/"),
        ("get", f"/orgs/{BIG}/clinics/new/"),
        ("post", f"/orgs/{BIG}/invite/"),
        ("get", f"/orgs/{{org}}/admins/{BIG}/remove/"),
        ("post", f"/invitations/{BIG}/withdraw/"),
        ("get", f"/clinics/{'9' * 400}/"),
    ],
)
def test_an_overflowing_id_in_a_url_is_404_not_500(world: World, method: str, url: str) -> None:
    client = client_for(world.org_admin)
    client.raise_request_exception = False
    url = url.format(harbour=world.harbour.pk, org=world.organisation.pk)
    response = getattr(client, method)(url)
    assert response.status_code == 404


def test_a_clinic_admin_cannot_reach_a_member_of_another_clinic(world: World) -> None:
    """The membership id of Northside's clinician under Harbour's URL does not exist for Harbour."""
    northside_member = world.membership(world.other_clinician, world.northside)
    url = reverse("orgs:clinic_member_remove", args=[world.harbour.pk, northside_member.pk])
    assert client_for(world.clinic_admin).get(url).status_code == 404
    assert client_for(world.clinic_admin).post(url).status_code == 404
    assert world.membership(world.other_clinician, world.northside).pk == northside_member.pk


def test_home_lists_each_clinic_with_the_persons_role_and_actions(world: World) -> None:
    html = client_for(world.clinic_admin).get(reverse("orgs:home")).content.decode()
    assert "Harbour GP" in html and "Clinic admin" in html
    assert reverse("orgs:clinic_members", args=[world.harbour.pk]) in html
    assert "Northside Physio" not in html

    html = client_for(world.clinician).get(reverse("orgs:home")).content.decode()
    assert "Harbour GP" in html and "Clinician" in html
    assert reverse("orgs:clinic_members", args=[world.harbour.pk]) not in html

    html = client_for(world.org_admin).get(reverse("orgs:home")).content.decode()
    assert "Harbour GP" in html and "Northside Physio" in html
    assert "Manage organisation" in html
    assert "Elsewhere" not in html

    html = client_for(world.operator).get(reverse("orgs:home")).content.decode()
    assert reverse("orgs:operator_organisations") in html
    assert reverse("admin:index") in html


def test_operator_sees_every_organisation_with_counts(world: World) -> None:
    html = client_for(world.operator).get(reverse("orgs:operator_organisations")).content.decode()
    assert "Demo Health" in html and "Elsewhere Medical" in html


def test_django_admin_is_for_operators_only(world: World) -> None:
    """Operators are plain staff users (not superusers) and still see and use the admin."""
    assert world.operator.is_staff and not world.operator.is_superuser
    operator = client_for(world.operator)
    index = operator.get(reverse("admin:index"))
    assert index.status_code == 200
    html = index.content.decode()
    for changelist in (
        "admin:accounts_user_changelist",
        "admin:orgs_invitation_changelist",
        "admin:orgs_organisation_changelist",
        "admin:orgs_clinic_changelist",
        "admin:orgs_membership_changelist",
        "admin:audit_auditentry_changelist",
        "admin:notifications_outboxemail_changelist",
        "admin:payments_stripeevent_changelist",
    ):
        assert reverse(changelist) in html, changelist
        assert operator.get(reverse(changelist)).status_code == 200, changelist
    clinic_url = reverse("admin:orgs_clinic_change", args=[world.harbour.pk])
    assert operator.get(clinic_url).status_code == 200
    # Read-only admins stay read-only for operators.
    assert operator.get(reverse("admin:audit_auditentry_add")).status_code == 403
    assert operator.get(reverse("admin:notifications_outboxemail_add")).status_code == 403
    response = client_for(world.org_admin).get(reverse("admin:index"))
    assert response.status_code == 302 and "login" in response["Location"]
    world.operator.is_active = False
    world.operator.save()
    response = client_for(world.operator).get(reverse("admin:index"))
    assert response.status_code == 302 and "login" in response["Location"]
    # The backend itself (not only sign-in) refuses inactive staff and active non-staff.
    backend = StaffOperatorBackend()
    assert backend.has_perm(world.operator, "orgs.view_clinic") is False
    assert backend.has_module_perms(world.operator, "orgs") is False
    assert backend.has_perm(world.org_admin, "orgs.view_clinic") is False
    assert backend.has_module_perms(world.org_admin, "orgs") is False


def test_operator_backend_grants_viewing_and_the_allow_list_only(world: World) -> None:
    backend = StaffOperatorBackend()
    for perm in ("orgs.view_membership", "accounts.view_user", "payments.view_stripeevent"):
        assert backend.has_perm(world.operator, perm) is True, perm
    assert backend.has_perm(world.operator, "orgs.change_clinic") is True
    for perm in (
        "orgs.add_membership",
        "orgs.change_membership",
        "orgs.delete_membership",
        "orgs.change_organisation",
        "orgs.delete_organisation",
        "orgs.add_clinic",
        "orgs.delete_clinic",
        "accounts.add_user",
        "accounts.delete_user",
        "orgs.change_invitation",
        "auth.change_group",
        "auth.add_group",
    ):
        assert backend.has_perm(world.operator, perm) is False, perm


def _superuser() -> User:
    return User.objects.create_superuser("root@carecall.test", PASSWORD, full_name="Root")


def test_operators_cannot_set_staff_superuser_or_groups_on_a_user_through_the_admin(
    world: World,
) -> None:
    url = reverse("admin:accounts_user_change", args=[world.clinician.pk])
    operator = client_for(world.operator)
    html = operator.get(url).content.decode()
    for field in ("is_staff", "is_superuser", "groups", "email"):
        assert f'name="{field}"' not in html, field
    # The password is never a field here; what an operator could use is the link to its form.
    assert "../password/" not in html
    assert 'name="full_name"' in html and 'name="is_active"' in html

    response = operator.post(
        url,
        {
            "full_name": "Casey Renamed",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "email": "sam-too@carecall.test",
        },
    )
    assert response.status_code == 302
    world.clinician.refresh_from_db()
    assert world.clinician.full_name == "Casey Renamed"  # an allowed field still saves
    assert not world.clinician.is_staff and not world.clinician.is_superuser
    assert world.clinician.email != "sam-too@carecall.test"


def test_operators_cannot_change_a_superuser_nor_set_anyones_password_through_the_admin(
    world: World,
) -> None:
    root = _superuser()
    operator = client_for(world.operator)
    password_url = reverse("admin:auth_user_password_change", args=[root.pk])
    assert operator.get(password_url).status_code == 403
    new_password = {"password1": "a-new-password-9876", "password2": "a-new-password-9876"}
    assert operator.post(password_url, new_password).status_code == 403
    # Nobody else's either: a set password is someone's account taken over.
    other_url = reverse("admin:auth_user_password_change", args=[world.org_admin.pk])
    assert operator.post(other_url, new_password).status_code == 403

    change_url = reverse("admin:accounts_user_change", args=[root.pk])
    assert operator.get(change_url).status_code == 200  # viewable
    response = operator.post(change_url, {"full_name": "Rooted", "is_active": ""})
    assert response.status_code == 403
    root.refresh_from_db()
    world.org_admin.refresh_from_db()
    assert root.full_name == "Root" and root.is_active and root.check_password(PASSWORD)
    assert world.org_admin.check_password(PASSWORD)
    assert operator.get(reverse("admin:accounts_user_add")).status_code == 403


def test_operators_cannot_add_or_change_memberships_or_invitations_through_the_admin(
    world: World,
) -> None:
    operator = client_for(world.operator)
    membership = world.membership(world.clinician, world.harbour)
    add_url = reverse("admin:orgs_membership_add")
    assert operator.get(add_url).status_code == 403
    response = operator.post(
        add_url,
        {"user": world.operator.pk, "organisation": world.organisation.pk, "role": Role.ORG_ADMIN},
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(user=world.operator).exists()

    change_url = reverse("admin:orgs_membership_change", args=[membership.pk])
    assert operator.get(change_url).status_code == 200  # viewable
    response = operator.post(
        change_url,
        {
            "user": world.clinician.pk,
            "organisation": world.organisation.pk,
            "clinic": "",
            "role": Role.ORG_ADMIN,
        },
    )
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.role == Role.CLINICIAN and membership.clinic == world.harbour
    delete_url = reverse("admin:orgs_membership_delete", args=[membership.pk])
    assert operator.post(delete_url, {"post": "yes"}).status_code == 403
    assert operator.get(reverse("admin:orgs_invitation_add")).status_code == 403


def test_operators_cannot_delete_or_change_organisations_or_clinics_through_the_admin(
    world: World,
) -> None:
    operator = client_for(world.operator)
    organisation = world.organisation
    delete_url = reverse("admin:orgs_organisation_delete", args=[organisation.pk])
    assert operator.get(delete_url).status_code == 403
    assert operator.post(delete_url, {"post": "yes"}).status_code == 403
    # Nor through the changelist's bulk "delete selected" action.
    empty = Organisation.objects.create(name="Empty Org", slug="empty-org")  # nothing PROTECTs it
    bulk = operator.post(
        reverse("admin:orgs_organisation_changelist"),
        {"action": "delete_selected", "_selected_action": [empty.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302, 403)
    assert Organisation.objects.filter(pk=empty.pk).exists()
    change_url = reverse("admin:orgs_organisation_change", args=[organisation.pk])
    assert operator.post(change_url, {"name": "Taken", "slug": "taken"}).status_code == 403
    assert Organisation.objects.filter(pk=organisation.pk, name="Demo Health").exists()

    clinic_delete = reverse("admin:orgs_clinic_delete", args=[world.harbour.pk])
    assert operator.post(clinic_delete, {"post": "yes"}).status_code == 403
    assert operator.get(reverse("admin:orgs_clinic_add")).status_code == 403
    assert Clinic.objects.filter(pk=world.harbour.pk).exists()


def test_operators_may_edit_a_clinics_operational_fields_but_not_where_it_belongs(
    world: World,
) -> None:
    operator = client_for(world.operator)
    clinic = world.harbour
    url = reverse("admin:orgs_clinic_change", args=[clinic.pk])
    response = operator.post(
        url,
        {
            "name": "Harbour GP (Level 2)",
            "timezone": "Australia/Perth",
            "waiting_area": '{"message": "Back at 2pm"}',
            "contact_email": "desk@harbour.test",
            "contact_phone": "+61 2 0000 0000",
            "organisation": world.other_organisation.pk,
            "slug": "hijacked",
            "currency": "USD",
            "payment_max_amount": "999999.00",
        },
    )
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert clinic.name == "Harbour GP (Level 2)" and clinic.timezone == "Australia/Perth"
    # Receipt contacts are set by clinic admins on the validated, audited settings page.
    assert clinic.contact_email != "desk@harbour.test"
    assert clinic.organisation == world.organisation and clinic.slug == "harbour-gp"
    assert clinic.currency == "AUD" and clinic.payment_max_amount < 999999
    # The waiting area is set on its own validated page, never as raw JSON here.
    assert "message" not in clinic.waiting_area


def test_a_clinic_with_default_waiting_area_settings_saves_in_the_admin(world: World) -> None:
    """The default waiting area is `{}`; the admin used to call that "required" and refuse."""
    clinic = world.harbour
    clinic.waiting_area = {}
    clinic.save()
    response = client_for(world.operator).post(
        reverse("admin:orgs_clinic_change", args=[clinic.pk]),
        {
            "name": "Harbour GP",
            "timezone": "Australia/Sydney",
            "contact_email": "",
            "contact_phone": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    clinic.refresh_from_db()
    assert clinic.waiting_area == {}


def test_operators_see_stripe_events_given_up_on_and_cannot_add_change_or_delete_them(
    world: World,
) -> None:
    given_up = StripeEvent.objects.create(
        event_id="evt_given_up",
        type="payment_intent.succeeded",
        body='{"data": {"object": {"receipt_email": "pat@example.test"}}}',
        attempts=5,
        failed_at=timezone.now(),
        outcome="error: KeyError 'metadata'",
    )
    StripeEvent.objects.create(
        event_id="evt_fine", type="charge.refunded", body="{}", processed_at=timezone.now()
    )
    operator = client_for(world.operator)
    changelist = reverse("admin:payments_stripeevent_changelist")
    html = operator.get(changelist, {"failed_at__isnull": "False"}).content.decode()
    assert "evt_given_up" in html and "evt_fine" not in html

    change_url = reverse("admin:payments_stripeevent_change", args=[given_up.pk])
    page = operator.get(change_url)
    assert page.status_code == 200
    assert "KeyError" in page.content.decode()
    assert "pat@example.test" not in page.content.decode()  # the body is not shown
    assert operator.post(change_url, {"outcome": ""}).status_code == 403
    assert operator.get(reverse("admin:payments_stripeevent_add")).status_code == 403
    delete_url = reverse("admin:payments_stripeevent_delete", args=[given_up.pk])
    assert operator.post(delete_url, {"post": "yes"}).status_code == 403
    given_up.refresh_from_db()
    assert given_up.outcome.startswith("error") and given_up.failed_at is not None
