from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from carecall.accounts.models import User
from carecall.orgs.demo import DEMO_PASSWORD, DEMO_PEOPLE, demo_seed
from carecall.orgs.models import Clinic, Membership, Organisation, Role

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple[object, ...]:
    return (
        sorted(User.objects.values_list("email", "full_name", "is_staff", "password")),
        sorted(Organisation.objects.values_list("name", "slug")),
        sorted(Clinic.objects.values_list("name", "slug", "currency", "timezone")),
        sorted(Membership.objects.values_list("user__email", "clinic__slug", "role"), key=str),
    )


def test_demo_has_demo_health_with_two_clinics_and_a_person_per_role() -> None:
    demo_seed()
    organisation = Organisation.objects.get(name="Demo Health")
    assert sorted(c.name for c in organisation.clinics.all()) == ["Harbour GP", "Northside Physio"]
    roles = set(Membership.objects.values_list("user__email", "clinic__name", "role"))
    assert ("olivia@demo-health.test", None, Role.ORG_ADMIN) in roles
    assert ("hannah@demo-health.test", "Harbour GP", Role.CLINIC_ADMIN) in roles
    assert ("chris@demo-health.test", "Harbour GP", Role.CLINICIAN) in roles
    assert ("nina@demo-health.test", "Northside Physio", Role.CLINICIAN) in roles
    operator = User.objects.get(email="operator@carecall.test")
    assert operator.is_staff and not operator.is_superuser
    for person in DEMO_PEOPLE:
        assert User.objects.get(email=person.email).check_password(DEMO_PASSWORD)
    # Every clinic has a clinic admin from the start.
    for clinic in Clinic.objects.all():
        assert clinic.memberships.filter(role=Role.CLINIC_ADMIN).exists()


def test_seeding_twice_changes_nothing() -> None:
    demo_seed()
    first = _snapshot()
    call_command("seed_demo", stdout=io.StringIO())
    assert _snapshot() == first
