"""Every organisation and clinic page, opened by each persona: who gets in, who gets 403/404."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.urls import reverse

from conftest import PERSONAS, World, client_for

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
        "admin:accounts_invitation_changelist",
        "admin:orgs_organisation_changelist",
        "admin:orgs_clinic_changelist",
        "admin:orgs_membership_changelist",
        "admin:audit_auditentry_changelist",
        "admin:notifications_outboxemail_changelist",
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


def test_operators_cannot_make_anyone_a_superuser_through_the_admin(world: World) -> None:
    url = reverse("admin:accounts_user_change", args=[world.clinician.pk])
    html = client_for(world.operator).get(url).content.decode()
    assert 'name="is_staff"' in html
    assert 'name="is_superuser"' not in html
