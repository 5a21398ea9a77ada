"""The `payment` message (amount, description, card) goes to the call's clinicians and to the
payer, over the real websocket stack, and to nobody else: not another guest in the same call,
not the patient when a guest pays, not anyone in another visit's call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

import stripe_sandbox
from carecall.calls.models import Visit
from carecall.calls.tests.ws import Call, Socket, Sockets, db, start_call
from carecall.payments.models import PaymentRequest
from carecall.payments.services.intents import payment_request_reconcile
from carecall.payments.services.requests import payment_request_create
from carecall.payments.tests.helpers import pay_at_stripe
from testsupport.world import World

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest_asyncio.fixture
async def sockets(connected: World) -> AsyncIterator[Sockets]:
    opened = Sockets()
    try:
        yield opened
    finally:
        await opened.close_all()


def _request(world: World, visit: Visit, payer_id: str | None = None) -> PaymentRequest:
    return payment_request_create(
        actor=world.clinician,
        visit=Visit.objects.get(pk=visit.pk),
        amount_text="85.00",
        description="Standard consultation",
        payer_id=payer_id,
    )


def _pay(sandbox: stripe_sandbox.SandboxServer, pr: PaymentRequest) -> PaymentRequest:
    pay_at_stripe(sandbox, pr)
    return payment_request_reconcile(payment_request=pr)


async def _silent(*sockets: Socket) -> bool:
    return all(await asyncio.gather(*(s.silent(0.3) for s in sockets)))


async def _two_calls(world: World, sockets: Sockets) -> tuple[Call, Call]:
    """Harbour GP's call (patient, clinician, a guest), and another visit's call at Northside."""
    call = await start_call(sockets, world.harbour, world.clinician, with_guest=True)
    other = await start_call(sockets, world.northside, world.other_clinician)
    return call, other


def _check(message: dict[str, Any], pr: PaymentRequest, status: str) -> None:
    assert message["type"] == "payment"
    request = message["request"]
    assert (request["id"], request["status"]) == (str(pr.pk), status)
    assert (request["amount"], request["currency"]) == (8500, "AUD")
    assert request["description"] == "Standard consultation"


async def test_a_payment_asked_of_the_patient_reaches_the_patient_and_clinician_only(
    connected: World, sandbox: stripe_sandbox.SandboxServer, sockets: Sockets
) -> None:
    call, other = await _two_calls(connected, sockets)
    assert call.guest is not None

    pr = await db(_request)(connected, call.visit)

    for socket in (call.patient, call.clinician):
        _check(await socket.expect("payment"), pr, "requested")
    assert await _silent(call.guest, other.patient, other.clinician)

    paid = await db(_pay)(sandbox, pr)
    assert paid.card_last4 == "4242"
    for socket in (call.patient, call.clinician):
        message = await socket.expect("payment")
        _check(message, pr, "paid")
        assert message["request"]["card_last4"] == "4242"
    assert await _silent(call.guest, other.patient, other.clinician)


async def test_a_payment_asked_of_a_guest_reaches_that_guest_and_the_clinician_only(
    connected: World, sandbox: stripe_sandbox.SandboxServer, sockets: Sockets
) -> None:
    call, other = await _two_calls(connected, sockets)
    assert call.guest is not None

    pr = await db(_request)(connected, call.visit, call.id("guest"))

    for socket in (call.guest, call.clinician):
        message = await socket.expect("payment")
        _check(message, pr, "requested")
        assert message["request"]["payer_id"] == call.id("guest")
    # The patient (not paying this one) and everyone in the other visit hear nothing.
    assert await _silent(call.patient, other.patient, other.clinician)

    await db(_pay)(sandbox, pr)
    for socket in (call.guest, call.clinician):
        message = await socket.expect("payment")
        _check(message, pr, "paid")
        assert message["request"]["card_last4"] == "4242"
    assert await _silent(call.patient, other.patient, other.clinician)
