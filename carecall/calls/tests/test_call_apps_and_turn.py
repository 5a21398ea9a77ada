"""What the welcome hands each participant besides the call: ICE servers with their own TURN REST
credentials, and the Apps and tools open to their kind and enabled for the clinic."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator

import pytest
from django.test import override_settings

from carecall.calls.call_apps import (
    CallApp,
    call_app_register,
    call_app_unregister,
    call_apps_for,
)
from carecall.calls.tests.ws import Sockets, db, enter, patient_path, start_call
from carecall.orgs.models import Clinic
from testsupport.world import World

SECRET = "coturn-static-auth-secret"
TURN_URLS = ["turn:turn.example.test:3478?transport=udp", "turns:turn.example.test:5349"]
STUN_URLS = ["stun:stun.example.test:3478"]
TTL = 3600


def expected_credential(username: str) -> str:
    digest = hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# ---------------------------------------------------------------- TURN


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@override_settings(
    STUN_URLS=STUN_URLS, TURN_URLS=TURN_URLS, TURN_SECRET=SECRET, TURN_TTL_SECONDS=TTL
)
async def test_each_participant_gets_their_own_turn_rest_credentials_in_the_welcome(
    world: World, sockets: Sockets
) -> None:
    before = time.time()
    call = await start_call(sockets, world.harbour, world.clinician, with_guest=True)
    after = time.time()

    usernames = set()
    for kind in ("patient", "clinician", "guest"):
        welcome = call.welcomes[kind]
        stun, turn = welcome["ice_servers"]
        assert stun == {"urls": STUN_URLS}
        assert turn["urls"] == TURN_URLS
        expiry, participant_id = turn["username"].split(":")
        assert participant_id == welcome["you"]["id"] == call.id(kind)
        assert int(before) + TTL <= int(expiry) <= after + TTL
        assert turn["credential"] == expected_credential(turn["username"])
        assert welcome["ice_transport_policy"] == "all"
        usernames.add(turn["username"])
    assert len(usernames) == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@override_settings(TURN_URLS=TURN_URLS, TURN_SECRET=SECRET, TURN_TTL_SECONDS=TTL)
async def test_a_reconnect_gets_credentials_valid_from_the_reconnect(
    world: World, sockets: Sockets
) -> None:
    _visit, token = await db(enter)(world.harbour)
    first = sockets.new(patient_path(token))
    first_expiry = int((await first.open())["ice_servers"][0]["username"].split(":")[0])
    await first.close()

    with override_settings(TURN_TTL_SECONDS=TTL * 2):
        again = sockets.new(patient_path(token))
        turn = (await again.open())["ice_servers"][0]
    expiry = int(turn["username"].split(":")[0])
    assert expiry >= first_expiry + TTL - 1
    assert turn["credential"] == expected_credential(turn["username"])


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_without_stun_or_turn_settings_the_welcome_offers_no_ice_servers(
    world: World, sockets: Sockets
) -> None:
    with override_settings(STUN_URLS=[], TURN_URLS=[], TURN_SECRET=""):
        _visit, token = await db(enter)(world.harbour)
        welcome = await sockets.new(patient_path(token)).open()
    assert welcome["ice_servers"] == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@override_settings(STUN_URLS=STUN_URLS, TURN_URLS=[], TURN_SECRET="")
async def test_stun_alone_comes_without_credentials(world: World, sockets: Sockets) -> None:
    _visit, token = await db(enter)(world.harbour)
    welcome = await sockets.new(patient_path(token)).open()
    assert welcome["ice_servers"] == [{"urls": STUN_URLS}]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@override_settings(
    TURN_URLS=TURN_URLS, TURN_SECRET=SECRET, TURN_TTL_SECONDS=TTL, ICE_TRANSPORT_POLICY="relay"
)
async def test_a_relay_only_policy_is_passed_on_to_the_browser(
    world: World, sockets: Sockets
) -> None:
    _visit, token = await db(enter)(world.harbour)
    welcome = await sockets.new(patient_path(token)).open()
    assert welcome["ice_transport_policy"] == "relay"


# ---------------------------------------------------------------- Apps and tools

CLINICIANS = frozenset({"clinician"})
EVERYONE = frozenset({"clinician", "patient", "guest"})
TEST_APPS = [
    CallApp(
        key="test-notes",
        name="Clinical notes (test)",
        icon="N",
        open_to=CLINICIANS,
        is_enabled=lambda clinic: True,
    ),
    CallApp(
        key="test-whiteboard",
        name="Whiteboard (test)",
        icon="W",
        open_to=EVERYONE,
        is_enabled=lambda clinic: True,
    ),
    CallApp(
        key="test-interpreter",
        name="Interpreter tools (test)",
        icon="I",
        open_to=frozenset({"clinician", "guest"}),
        is_enabled=lambda clinic: True,
    ),
    CallApp(
        key="test-northside-only",
        name="Exercise plans (test)",
        icon="E",
        open_to=EVERYONE,
        is_enabled=lambda clinic: clinic.slug == "northside-physio",
    ),
    CallApp(
        key="test-switched-off",
        name="Switched off (test)",
        icon="S",
        open_to=EVERYONE,
        is_enabled=lambda clinic: False,
    ),
]


@pytest.fixture
def test_apps() -> Iterator[list[CallApp]]:
    for app in TEST_APPS:
        call_app_register(app)
    try:
        yield TEST_APPS
    finally:
        for app in TEST_APPS:
            call_app_unregister(app.key)


def listed(welcome: dict[str, object]) -> list[tuple[str, str, str]]:
    apps = welcome["apps"]
    assert isinstance(apps, list)
    names = [a["name"] for a in apps]
    assert names == sorted(names), "apps are listed by name"
    return [(a["key"], a["name"], a["icon"]) for a in apps if a["key"].startswith("test-")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("persona", ["org_admin", "clinic_admin", "clinician"])
async def test_the_welcome_lists_the_apps_enabled_for_the_clinic_and_open_to_each_kind(
    world: World, sockets: Sockets, test_apps: list[CallApp], persona: str
) -> None:
    user = world.persona(persona)
    assert user is not None
    call = await start_call(sockets, world.harbour, user, with_guest=True)

    assert listed(call.welcomes["clinician"]) == [
        ("test-notes", "Clinical notes (test)", "N"),
        ("test-interpreter", "Interpreter tools (test)", "I"),
        ("test-whiteboard", "Whiteboard (test)", "W"),
    ]
    assert listed(call.welcomes["guest"]) == [
        ("test-interpreter", "Interpreter tools (test)", "I"),
        ("test-whiteboard", "Whiteboard (test)", "W"),
    ]
    assert listed(call.welcomes["patient"]) == [("test-whiteboard", "Whiteboard (test)", "W")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_app_enabled_for_another_clinic_appears_only_there(
    world: World, sockets: Sockets, test_apps: list[CallApp]
) -> None:
    call = await start_call(sockets, world.northside, world.other_clinician)
    assert ("test-northside-only", "Exercise plans (test)", "E") in listed(call.welcomes["patient"])
    assert ("test-switched-off", "Switched off (test)", "S") not in listed(
        call.welcomes["clinician"]
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_unregistered_app_is_no_longer_offered(
    world: World, sockets: Sockets, test_apps: list[CallApp]
) -> None:
    call_app_unregister("test-whiteboard")
    _visit, token = await db(enter)(world.harbour)
    welcome = await sockets.new(patient_path(token)).open()
    assert listed(welcome) == []


def test_registering_the_same_app_twice_is_harmless_but_a_key_clash_is_refused(
    world: World, test_apps: list[CallApp]
) -> None:
    call_app_register(TEST_APPS[0])  # e.g. ready() running twice
    clash = CallApp(
        key="test-notes",
        name="Other notes",
        icon="O",
        open_to=EVERYONE,
        is_enabled=lambda clinic: True,
    )
    with pytest.raises(ValueError, match="'test-notes' is registered already"):
        call_app_register(clash)
    # The first registration stands: still clinicians only.
    assert "test-notes" in keys(world.harbour, "clinician")
    assert "test-notes" not in keys(world.harbour, "patient")


def test_unregistering_an_unknown_app_is_harmless() -> None:
    call_app_unregister("test-never-registered")


def keys(clinic: Clinic, kind: str) -> list[str]:
    return [a.key for a in call_apps_for(clinic=clinic, kind=kind) if a.key.startswith("test-")]


def test_call_apps_for_filters_by_kind_and_clinic_and_sorts_by_name(
    world: World, test_apps: list[CallApp]
) -> None:
    assert keys(world.harbour, "clinician") == [
        "test-notes",
        "test-interpreter",
        "test-whiteboard",
    ]
    assert keys(world.harbour, "guest") == ["test-interpreter", "test-whiteboard"]
    assert keys(world.harbour, "patient") == ["test-whiteboard"]
    assert keys(world.northside, "patient") == ["test-northside-only", "test-whiteboard"]
    assert keys(world.harbour, "someone-else") == []
