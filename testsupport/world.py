"""The people every endpoint is tested as (like Healthchecks' hc/test.py): the world the `world`
fixture of the root conftest.py builds, and a signed-in client for any of them. Tests import these
from here, never from a conftest."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client

from carecall.accounts.models import User
from carecall.orgs.models import Clinic, Membership, Organisation, Role

PASSWORD = "a-long-test-password"


@dataclass
class World:
    organisation: Organisation
    harbour: Clinic
    northside: Clinic
    other_organisation: Organisation
    other_clinic: Clinic
    org_admin: User
    clinic_admin: User
    clinician: User
    other_clinician: User  # clinician of Northside, same organisation
    outsider: User  # org admin of another organisation
    operator: User

    def persona(self, name: str) -> User | None:
        return None if name == "anonymous" else getattr(self, name)

    def membership(self, user: User, clinic: Clinic | None = None) -> Membership:
        return Membership.objects.get(user=user, clinic=clinic)


def make_user(email: str, name: str, **extra: object) -> User:
    return User.objects.create_user(email, PASSWORD, full_name=name, **extra)


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


PERSONAS = [
    "org_admin",
    "clinic_admin",
    "clinician",
    "other_clinician",
    "outsider",
    "operator",
    "anonymous",
]


def world_build() -> World:
    """Two organisations, three clinics and one person per role (see World); needs the database."""
    organisation = Organisation.objects.create(name="Demo Health", slug="demo-health")
    harbour = Clinic.objects.create(organisation=organisation, name="Harbour GP", slug="harbour-gp")
    northside = Clinic.objects.create(
        organisation=organisation, name="Northside Physio", slug="northside-physio"
    )
    other_org = Organisation.objects.create(name="Elsewhere Medical", slug="elsewhere")
    other_clinic = Clinic.objects.create(
        organisation=other_org, name="Elsewhere GP", slug="elsewhere-gp"
    )
    w = World(
        organisation=organisation,
        harbour=harbour,
        northside=northside,
        other_organisation=other_org,
        other_clinic=other_clinic,
        org_admin=make_user("olivia@example.test", "Olivia Nguyen"),
        clinic_admin=make_user("hannah@example.test", "Hannah Brooks"),
        clinician=make_user("chris@example.test", "Chris Lee"),
        other_clinician=make_user("nina@example.test", "Nina Patel"),
        outsider=make_user("oscar@elsewhere.test", "Oscar Out"),
        operator=make_user("sam@carecall.test", "Sam Operator", is_staff=True),
    )
    Membership.objects.create(user=w.org_admin, organisation=organisation, role=Role.ORG_ADMIN)
    Membership.objects.create(
        user=w.clinic_admin, organisation=organisation, clinic=harbour, role=Role.CLINIC_ADMIN
    )
    Membership.objects.create(
        user=w.clinician, organisation=organisation, clinic=harbour, role=Role.CLINICIAN
    )
    Membership.objects.create(
        user=w.other_clinician, organisation=organisation, clinic=northside, role=Role.CLINICIAN
    )
    Membership.objects.create(user=w.outsider, organisation=other_org, role=Role.ORG_ADMIN)
    Membership.objects.create(
        user=w.outsider, organisation=other_org, clinic=other_clinic, role=Role.CLINIC_ADMIN
    )
    return w
