"""The real **Request payment** tool (`call_tool.py`) in the call's Apps and tools: listed for a
clinician once the clinic has the Payment Gateway, never for the patient or a guest, and a
clinician who opens it before the clinic is ready is told what is missing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

import stripe_sandbox
from carecall.calls.tests.ws import Sockets, db, start_call
from carecall.payments.call_tool import PAYMENTS_TOOL_KEY
from carecall.payments.tests.helpers import (
    connect_clinic,
    enable_payment_gateway,
    post_json,
)
from carecall.payments.tests.helpers import start_call as start_call_sync
from testsupport.world import World, client_for

NOT_CONNECTED = (
    "Ask a clinic admin to connect the clinic's Stripe account under Configure > Customer payments."
)
NOT_ENABLED = "The Payment Gateway app is not enabled for this clinic."


@pytest_asyncio.fixture
async def sockets(world: World) -> AsyncIterator[Sockets]:
    opened = Sockets()
    try:
        yield opened
    finally:
        await opened.close_all()


def _tool(welcome: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in welcome["apps"] if a["key"] == PAYMENTS_TOOL_KEY]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_with_the_app_enabled_and_stripe_connected_only_the_clinician_sees_the_tool(
    connected: World, sockets: Sockets
) -> None:
    call = await start_call(sockets, connected.harbour, connected.clinician, with_guest=True)

    assert _tool(call.welcomes["clinician"]) == [
        {"key": "payments", "name": "Request payment", "icon": "card"}
    ]
    assert _tool(call.welcomes["patient"]) == []
    assert _tool(call.welcomes["guest"]) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_without_the_app_nobody_sees_the_tool(world: World, sockets: Sockets) -> None:
    call = await start_call(sockets, world.harbour, world.clinician, with_guest=True)

    for kind in ("clinician", "patient", "guest"):
        assert _tool(call.welcomes[kind]) == [], kind


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_enabled_but_not_connected_the_clinician_still_sees_the_tool_to_learn_why(
    world: World, sockets: Sockets
) -> None:
    await db(enable_payment_gateway)(world, world.harbour)
    call = await start_call(sockets, world.harbour, world.clinician, with_guest=True)

    assert [a["key"] for a in _tool(call.welcomes["clinician"])] == [PAYMENTS_TOOL_KEY]
    assert _tool(call.welcomes["patient"]) == []
    assert _tool(call.welcomes["guest"]) == []


def test_a_clinician_opening_the_tool_without_a_connected_account_is_told_what_is_missing(
    world: World,
) -> None:
    enable_payment_gateway(world, world.harbour)
    call = start_call_sync(world)
    clinician = client_for(world.clinician)

    panel = clinician.get(call.staff_url())

    assert panel.status_code == 200
    body = panel.json()
    assert (body["enabled"], body["connected"]) == (True, False)
    assert body["missing"] == NOT_CONNECTED
    asked = post_json(clinician, call.staff_url(), {"amount": "85.00", "description": "Visit"})
    assert asked.status_code == 400
    assert asked.json()["error"] == (
        "Harbour GP has no Stripe account connected. "
        "A clinic admin connects it under Configure > Customer payments."
    )


def test_a_clinician_opening_the_tool_without_the_app_is_told_it_is_not_enabled(
    world: World,
) -> None:
    call = start_call_sync(world)
    clinician = client_for(world.clinician)

    panel = clinician.get(call.staff_url())

    assert panel.status_code == 200
    body = panel.json()
    assert (body["enabled"], body["connected"]) == (False, False)
    assert body["missing"] == NOT_ENABLED
    asked = post_json(clinician, call.staff_url(), {"amount": "85.00", "description": "Visit"})
    assert asked.status_code == 400
    assert asked.json()["error"] == (
        "The Payment Gateway app is not enabled for Harbour GP yet. Request it under Apps."
    )


def test_once_enabled_and_connected_the_panel_has_nothing_missing(
    world: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    enable_payment_gateway(world, world.harbour)
    connect_clinic(world, sandbox, world.harbour)
    call = start_call_sync(world)

    body = client_for(world.clinician).get(call.staff_url()).json()

    assert (body["enabled"], body["connected"], body["missing"]) == (True, True, "")
    assert body["currency"] == "AUD"
