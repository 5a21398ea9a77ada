"""Shared fixtures: the people every endpoint is tested as (like Healthchecks' hc/test.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client
from playwright.sync_api import Browser

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


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Each test starts with an empty cache: the throttles' counts (carecall/core/ratelimit.py)
    and debounces of one test must not reach the next."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def world(db: None) -> World:
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


@pytest.fixture(scope="session")
def _chromium() -> Iterator[Browser]:
    """One Chromium for the whole run: Playwright's sync API allows one instance per thread
    (a second one, while the first is open, finds its event loop running and refuses)."""
    from testsupport.browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture
def browser(_chromium: Browser) -> Iterator[Browser]:
    """The run's Chromium, with every context a test left open closed after it: pages left
    running keep the fake camera captured, and after a dozen calls Chromium answers the next
    getUserMedia with NotReadableError ("busy in another program")."""
    yield _chromium
    for context in list(_chromium.contexts):
        context.close()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests (all of e2e/, and any test using Chromium) carry the `browser` mark, so the
    PostgreSQL pass of `make test` can leave them to the first pass, and run after every other
    test."""
    for item in items:
        if "/e2e/" in str(item.path) or "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
    # Last of all: Playwright's sync API keeps its event loop marked running in the main thread
    # for as long as the run's Chromium is open, so an asyncio test after a browser test fails
    # with "Runner.run() cannot be called from a running event loop". pytest-django has already
    # grouped the tests by database use; a stable sort keeps that order within each part.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
