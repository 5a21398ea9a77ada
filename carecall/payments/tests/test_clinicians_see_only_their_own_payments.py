"""Clinicians see only the payments they requested (payments/access.py), everywhere: the call's
payment JSON, the live `payment` message, cancelling, the list, the detail and the CSV — even a
colleague of the same clinic who joined the same call. Managers see every payment."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

import stripe_sandbox
from carecall.accounts.models import User
from carecall.calls.models import Participant, ParticipantKind
from carecall.calls.services import visit_join
from carecall.orgs.models import Membership, Role
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.tests.helpers import Call, CallListener, request_payment
from carecall.payments.tests.test_records_support import response_body
from testsupport.world import World, client_for, make_user


@pytest.fixture
def colleague(connected: World, call: Call) -> User:
    """Another clinician of Harbour GP, in the same call as world.clinician."""
    user = make_user("colleague@example.test", "Dr Sam Colleague")
    Membership.objects.create(
        user=user,
        organisation=connected.organisation,
        clinic=connected.harbour,
        role=Role.CLINICIAN,
    )
    visit_join(actor=user, visit=call.visit)
    return user


@pytest.fixture
def asked(
    connected: World,
    call: Call,
    colleague: User,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> PaymentRequest:
    with django_capture_on_commit_callbacks(execute=True):
        return request_payment(connected, call)


def _ids(persona: User, call: Call) -> list[str]:
    response = client_for(persona).get(call.staff_url())
    assert response.status_code == 200
    return [r["id"] for r in response.json()["requests"]]


def test_the_calls_payment_json_lists_a_request_only_to_its_clinician_and_the_managers(
    connected: World, call: Call, colleague: User, asked: PaymentRequest
) -> None:
    mine = [str(asked.pk)]
    assert _ids(connected.clinician, call) == mine
    assert _ids(connected.clinic_admin, call) == mine
    assert _ids(connected.org_admin, call) == mine
    assert _ids(colleague, call) == []  # no amount, payer or card of a colleague's request


def test_a_colleague_cannot_cancel_a_request_they_cannot_see(
    connected: World, call: Call, colleague: User, asked: PaymentRequest
) -> None:
    response = client_for(colleague).post(call.cancel_url(asked))

    assert response.status_code == 404
    assert response.json()["error"]
    asked.refresh_from_db()
    assert asked.status == PaymentStatus.REQUESTED


def test_the_live_payment_message_skips_a_colleague_in_the_same_call(
    connected: World,
    call: Call,
    colleague: User,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    def seat(user: User) -> Participant:
        return Participant.objects.get(visit=call.visit, user=user, kind=ParticipantKind.CLINICIAN)

    requester = CallListener(call.visit, seat(connected.clinician))
    other = CallListener(call.visit, seat(colleague))
    payer = CallListener(call.visit, call.patient)

    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)

    assert [m.request.id for m in requester.payments()] == [str(pr.pk)]
    assert [m.request.id for m in payer.payments()] == [str(pr.pk)]
    assert other.payments() == []


def test_list_detail_and_csv_show_a_colleague_nothing_of_the_request(
    connected: World, call: Call, colleague: User, asked: PaymentRequest
) -> None:
    clinic = connected.harbour.pk
    detail = reverse("payments:payment_detail", args=[clinic, asked.pk])
    listing = reverse("payments:clinic_payments", args=[clinic])
    csv = reverse("payments:clinic_payments_csv", args=[clinic])
    for persona, sees in (
        (connected.clinician, True),
        (connected.clinic_admin, True),
        (colleague, False),
    ):
        client = client_for(persona)
        assert client.get(detail).status_code == (200 if sees else 403)
        assert (asked.reference in client.get(listing).content.decode()) == sees
        assert (asked.reference in response_body(client.get(csv)).decode()) == sees
