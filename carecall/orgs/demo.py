"""Demo data: one organisation, two clinics and a person for each role. Safe to run again.

Apps add their own demo data through `demo_seeder_register` (from their AppConfig.ready()):
each seeder gets the organisation and its clinics by slug, in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from carecall.accounts.models import User
from carecall.orgs.models import Clinic, Membership, Organisation, Role
from carecall.orgs.services import clinic_create

DEMO_PASSWORD = "carecall-demo"


@dataclass(frozen=True)
class DemoPerson:
    key: str
    email: str
    full_name: str
    description: str


OPERATOR = DemoPerson("operator", "operator@carecall.test", "Sam Operator", "Platform operator")
ORG_ADMIN = DemoPerson(
    "org_admin", "olivia@demo-health.test", "Olivia Nguyen", "Organisation admin, Demo Health"
)
CLINIC_ADMIN = DemoPerson(
    "clinic_admin", "hannah@demo-health.test", "Hannah Brooks", "Clinic admin, Harbour GP"
)
CLINICIAN = DemoPerson(
    "clinician", "chris@demo-health.test", "Dr Chris Lee", "Clinician, Harbour GP"
)
PHYSIO = DemoPerson("physio", "nina@demo-health.test", "Nina Patel", "Clinician, Northside Physio")
DEMO_PEOPLE = [OPERATOR, ORG_ADMIN, CLINIC_ADMIN, CLINICIAN, PHYSIO]

DemoSeeder = Callable[[Organisation, dict[str, Clinic]], None]
_SEEDERS: dict[str, DemoSeeder] = {}


def demo_seeder_register(key: str, seeder: DemoSeeder) -> None:
    """`seeder(organisation, clinics_by_slug)` runs at the end of every `demo_seed`; it must
    change nothing when its data exists already."""
    _SEEDERS[key] = seeder


def _user(person: DemoPerson, *, staff: bool = False) -> User:
    user = User.objects.filter(email=person.email).first()
    if user is None:
        user = User.objects.create_user(
            person.email,
            DEMO_PASSWORD,
            full_name=person.full_name,
            # A plain staff user, as real operators are: the demo shows what they can do.
            is_staff=staff,
        )
    return user


def _member(user: User, organisation: Organisation, clinic: Clinic | None, role: Role) -> None:
    Membership.objects.get_or_create(
        user=user, organisation=organisation, clinic=clinic, defaults={"role": role}
    )


@transaction.atomic
def demo_seed() -> list[DemoPerson]:
    """Create the demo people and places once; running it again changes nothing."""
    _user(OPERATOR, staff=True)
    olivia = _user(ORG_ADMIN)
    organisation, _ = Organisation.objects.get_or_create(
        slug="demo-health", defaults={"name": "Demo Health"}
    )
    _member(olivia, organisation, None, Role.ORG_ADMIN)
    clinics = {}
    for slug, name in [("harbour-gp", "Harbour GP"), ("northside-physio", "Northside Physio")]:
        clinic = Clinic.objects.filter(slug=slug).first()
        if clinic is None:
            clinic = clinic_create(
                actor=olivia, organisation=organisation, name=name, timezone="Australia/Sydney"
            )
        clinics[slug] = clinic
    _member(_user(CLINIC_ADMIN), organisation, clinics["harbour-gp"], Role.CLINIC_ADMIN)
    _member(_user(CLINICIAN), organisation, clinics["harbour-gp"], Role.CLINICIAN)
    _member(_user(PHYSIO), organisation, clinics["northside-physio"], Role.CLINICIAN)
    for slug, email, phone in [
        ("harbour-gp", "reception@harbourgp.test", "02 9000 0001"),
        ("northside-physio", "hello@northsidephysio.test", "02 9000 0002"),
    ]:
        Clinic.objects.filter(slug=slug, contact_email="").update(
            contact_email=email, contact_phone=phone
        )
    for seeder in _SEEDERS.values():
        seeder(organisation, clinics)
    return DEMO_PEOPLE
