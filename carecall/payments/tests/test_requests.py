"""Asking for a payment in a call: the PaymentIntent made on the clinic's account, what input is
refused (and that a refusal leaves nothing behind), cancelling, and who pays."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe
from django.core import mail
from django.test import Client
from django.urls import reverse

import stripe_sandbox
from carecall.calls.services import guest_invite_create
from carecall.clinic_apps.models import ClinicApp
from carecall.clinic_apps.services import clinic_app_disable
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.tests.helpers import (
    HARBOUR,
    NORTHSIDE,
    Call,
    CallListener,
    connect_clinic,
    enable_payment_gateway,
    intent_at_stripe,
    intents_at_stripe,
    pay_at_stripe,
    post_json,
    request_payment,
    start_call,
    stripe_client,
)
from testsupport.world import World, client_for


def _create(client: Client, call: Call, **data: Any) -> Any:
    body = {"amount": "85.00", "description": "Standard consultation", **data}
    return post_json(client, call.staff_url(), body)


# ----------------------------------------------------------------------------- the intent


def test_clinician_in_call_requests_a_payment_and_an_intent_is_made_on_the_clinics_account(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    listener = CallListener(call.visit)
    with django_capture_on_commit_callbacks(execute=True):
        response = _create(client_for(connected.clinician), call)

    assert response.status_code == 201, response.content
    info = response.json()["request"]
    pr = PaymentRequest.objects.get()
    assert info["id"] == str(pr.pk)
    assert info["amount_display"] == "AUD 85.00"
    assert info["status"] == "requested"
    assert (pr.amount, pr.currency, pr.status) == (8500, "AUD", PaymentStatus.REQUESTED)
    assert pr.description == "Standard consultation"
    assert pr.payer == call.patient
    assert pr.requested_by == connected.clinician
    assert pr.stripe_account_id == HARBOUR
    assert re.fullmatch(r"CC-[A-HJ-NP-Z2-9]{6}", pr.reference)

    intent = intent_at_stripe(sandbox, pr)
    assert intent["id"] == pr.payment_intent_id
    assert intent["client_secret"] == pr.client_secret
    assert (intent["amount"], intent["currency"]) == (8500, "aud")
    assert intent["description"] == "Standard consultation"
    assert intent["statement_descriptor_suffix"] == "HARBOUR GP"
    assert intent["status"] == "requires_payment_method"
    assert {k: intent["metadata"][k] for k in ("payment_request", "clinic", "visit")} == {
        "payment_request": str(pr.pk),
        "clinic": str(connected.harbour.pk),
        "visit": str(call.visit.pk),
    }
    # A direct charge: the intent lives on the clinic's account, not the platform's.
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client(sandbox).v1.payment_intents.retrieve(pr.payment_intent_id or "")

    # Both sides of the call hear about it, in the declared message shape.
    (message,) = listener.payments()
    assert message.request.id == str(pr.pk)
    assert message.request.status == "requested"


def test_the_intents_idempotency_key_is_the_payment_request_id(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    intent = intent_at_stripe(sandbox, pr)
    params: dict[str, Any] = {
        "amount": 8500,
        "currency": "aud",
        "description": "Standard consultation",
        "metadata": intent["metadata"],
        "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        "statement_descriptor_suffix": "HARBOUR GP",
    }
    client = stripe_client(sandbox)

    # The same call with the request's id as key is a replay of the first, not a new intent...
    again = client.v1.payment_intents.create(
        params,  # type: ignore[arg-type]
        {"stripe_account": HARBOUR, "idempotency_key": str(pr.pk)},
    )
    assert again.id == pr.payment_intent_id
    # ...and the key cannot be used for anything else.
    other_amount: dict[str, Any] = {**params, "amount": 9900}
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(
            other_amount,  # type: ignore[arg-type]
            {"stripe_account": HARBOUR, "idempotency_key": str(pr.pk)},
        )
    assert [i["id"] for i in intents_at_stripe(sandbox, HARBOUR)] == [pr.payment_intent_id]


# ----------------------------------------------------------------------------- refused input

BAD_INPUT = [
    ({"amount": "0"}, "amount", "The amount must be more than zero."),
    ({"amount": "-5.00"}, "amount", "The amount must be more than zero."),
    ({"amount": "0.49"}, "amount", "The smallest amount Stripe accepts is AUD 0.50."),
    ({"amount": "10000.01"}, "amount", "The largest amount allowed here is AUD 10,000.00."),
    ({"amount": "85.001"}, "amount", "AUD amounts have at most 2 decimals."),
    ({"amount": "eighty-five"}, "amount", "Enter the amount as a number, for example 85.00."),
    ({"amount": ""}, "amount", "Enter the amount as a number, for example 85.00."),
    ({"amount": "NaN"}, "amount", "Enter the amount as a number, for example 85.00."),
    ({"description": ""}, "description", "Describe what the payment is for."),
    ({"description": "  \n\t "}, "description", "Describe what the payment is for."),
    ({"description": "x" * 201}, "description", "The description can be at most 200 characters."),
]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    BAD_INPUT,
    ids=[
        "zero",
        "negative",
        "below-minimum",
        "above-clinic-maximum",
        "too-many-decimals",
        "not-a-number",
        "no-amount",
        "nan",
        "empty-description",
        "blank-description",
        "description-too-long",
    ],
)
def test_bad_input_gets_a_json_reason_and_leaves_nothing_behind(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = _create(client_for(connected.clinician), call, **data)

    assert response.status_code == 400
    assert response.json() == {"error": message, "field": field}
    assert not PaymentRequest.objects.exists()
    assert intents_at_stripe(sandbox, HARBOUR) == []


def test_an_amount_with_a_huge_exponent_is_refused_with_a_reason_not_a_server_error(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer
) -> None:
    client = client_for(connected.clinician)
    client.raise_request_exception = False
    response = _create(client, call, amount="1e999999")

    assert response.status_code == 400
    assert response.json()["field"] == "amount"
    assert not PaymentRequest.objects.exists()


def test_a_body_that_is_not_json_is_refused_with_a_reason(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer
) -> None:
    client = client_for(connected.clinician)
    response = client.post(call.staff_url(), data="{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "The request body is not valid JSON."}
    assert not PaymentRequest.objects.exists()


def test_the_clinics_own_maximum_applies_and_a_description_of_200_characters_is_fine(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    connected.harbour.payment_max_amount = Decimal("200.00")
    connected.harbour.save()
    client = client_for(connected.clinician)

    refused = _create(client, call, amount="200.01")
    assert refused.json()["error"] == "The largest amount allowed here is AUD 200.00."
    with django_capture_on_commit_callbacks(execute=True):
        accepted = _create(client, call, amount="200", description="y" * 200)
    assert accepted.status_code == 201
    pr = PaymentRequest.objects.get()
    assert (pr.amount, len(pr.description)) == (20000, 200)


def test_html_in_the_description_is_kept_as_text_and_escaped_in_the_receipt(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    description = '<script>alert("x")</script> & <b>Consult</b>'
    with django_capture_on_commit_callbacks(execute=True):
        response = _create(client_for(connected.clinician), call, description=description)
    pr = PaymentRequest.objects.get()
    assert pr.description == description
    assert response.json()["request"]["description"] == description
    assert intent_at_stripe(sandbox, pr)["description"] == description

    patient = Client()
    post_json(patient, call.payer_url(pr, "email"), {"email": "pat@example.test"})
    pay_at_stripe(sandbox, pr)
    with django_capture_on_commit_callbacks(execute=True):
        post_json(patient, call.payer_url(pr, "complete"), {})

    (email,) = mail.outbox
    assert description in email.body  # plain text: as typed
    html = email.alternatives[0][0]  # type: ignore[attr-defined]
    assert "<script>" not in html
    assert "<b>Consult</b>" not in html
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;Consult&lt;/b&gt;" in html
    )


# ----------------------------------------------------------------------------- who may ask


def test_clinician_of_another_clinic_cannot_request_or_cancel(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)

    for user, status in ((connected.other_clinician, 403), (connected.outsider, 404)):
        client = client_for(user)
        assert _create(client, call).status_code == status
        assert client.post(call.cancel_url(pr)).status_code == status

    assert PaymentRequest.objects.count() == 1
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED
    assert intent_at_stripe(sandbox, pr)["status"] == "requires_payment_method"


def test_only_a_clinician_in_the_call_can_request(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer
) -> None:
    for user in (connected.org_admin, connected.clinic_admin):
        response = _create(client_for(user), call)
        assert response.status_code == 403
        assert response.json() == {
            "error": "Only a clinician in this call can request payments in it."
        }
    assert not PaymentRequest.objects.exists()


def test_no_request_without_a_connected_account(
    world: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    enable_payment_gateway(world, world.harbour)
    call = start_call(world)
    response = _create(client_for(world.clinician), call)
    assert response.status_code == 400
    assert "has no Stripe account connected" in response.json()["error"]
    assert not PaymentRequest.objects.exists()


def test_no_request_once_the_operator_has_disabled_the_app(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer
) -> None:
    clinic_app_disable(
        actor=connected.operator, clinic_app=ClinicApp.objects.get(clinic=connected.harbour)
    )
    response = _create(client_for(connected.clinician), call)
    assert response.status_code == 400
    assert "The Payment Gateway app is not enabled for Harbour GP" in response.json()["error"]
    assert not PaymentRequest.objects.exists()
    assert intents_at_stripe(sandbox, HARBOUR) == []


# ----------------------------------------------------------------------------- cancelling


def test_clinician_cancels_an_unpaid_request_at_stripe_too(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    listener = CallListener(call.visit)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(connected.clinician).post(call.cancel_url(pr))

    assert response.status_code == 200
    assert response.json()["request"]["status"] == "cancelled"
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.CANCELLED
    assert pr.cancel_reason == "Cancelled by Chris Lee."
    assert intent_at_stripe(sandbox, pr)["status"] == "canceled"
    assert [m.request.status for m in listener.payments()] == ["cancelled"]
    again = client_for(connected.clinician).post(call.cancel_url(pr))
    assert again.status_code == 409


def test_clinic_admin_not_in_the_call_may_cancel(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    response = client_for(connected.clinic_admin).post(call.cancel_url(pr))
    assert response.status_code == 200
    pr.refresh_from_db()
    assert pr.cancel_reason == "Cancelled by Hannah Brooks."


def test_a_paid_request_cannot_be_cancelled(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    pay_at_stripe(sandbox, pr)
    post_json(Client(), call.payer_url(pr, "complete"), {})

    response = client_for(connected.clinician).post(call.cancel_url(pr))

    assert response.status_code == 409
    assert response.json() == {"error": "Only a payment that is not paid yet can be cancelled."}
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID


def test_cancelling_a_request_just_paid_at_stripe_records_it_paid_instead(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    pay_at_stripe(sandbox, pr)  # we have not heard of it yet

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(connected.clinician).post(call.cancel_url(pr))

    assert response.status_code == 409
    assert response.json() == {"error": "It was paid before it could be cancelled."}
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert intent_at_stripe(sandbox, pr)["status"] == "succeeded"


# ----------------------------------------------------------------------------- who pays


def _claimed_guest(
    connected: World, call: Call, name: str = "Gail Carer"
) -> tuple[Any, str, Client]:
    guest, url = guest_invite_create(
        actor=connected.clinician, visit=call.visit, base_url="http://testserver"
    )
    path = urlsplit(url).path
    browser = Client()
    assert browser.post(path, {"display_name": name}).status_code == 302
    guest.refresh_from_db()
    return guest, path.rstrip("/").rsplit("/", 1)[-1], browser


def test_the_patient_pays_unless_a_guest_is_chosen_and_only_the_payer_sees_a_request(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    guest, guest_token, guest_browser = _claimed_guest(connected, call)
    clinician = client_for(connected.clinician)
    payers = clinician.get(call.staff_url()).json()["payers"]
    assert [(p["name"], p["kind"]) for p in payers] == [
        ("Pat Jones", "patient"),
        ("Gail Carer", "guest"),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        for_patient = _create(clinician, call, description="For Pat").json()["request"]
        for_guest = _create(clinician, call, description="For Gail", payer=str(guest.pk)).json()[
            "request"
        ]
    assert for_patient["payer_id"] == str(call.patient.pk)
    assert for_guest["payer_id"] == str(guest.pk)

    patient = Client()
    assert [r["id"] for r in patient.get(call.payer_url()).json()["requests"]] == [
        for_patient["id"]
    ]
    guest_list = reverse("payments:payer_payments", args=["j", guest_token])
    assert [r["id"] for r in guest_browser.get(guest_list).json()["requests"]] == [for_guest["id"]]
    guest_pr = PaymentRequest.objects.get(pk=for_guest["id"])
    assert patient.get(call.payer_url(guest_pr)).status_code == 404
    guest_one = reverse("payments:payer_payment", args=["j", guest_token, for_guest["id"]])
    opened = guest_browser.get(guest_one)
    assert opened.status_code == 200
    assert opened.json()["client_secret"] == guest_pr.client_secret
    # The guest's link in another browser (which did not claim it) opens nothing.
    assert Client().get(guest_list).status_code == 404
    assert Client().get(guest_one).status_code == 404


def test_a_payer_who_is_not_in_this_call_is_refused(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
) -> None:
    other = start_call(connected, first_name="Sam", last_name="Other")
    unclaimed, _url = guest_invite_create(
        actor=connected.clinician, visit=call.visit, base_url="http://testserver"
    )
    clinician = client_for(connected.clinician)
    for payer in (str(other.patient.pk), str(unclaimed.pk)):
        response = _create(clinician, call, payer=payer)
        assert response.status_code == 400
        assert response.json() == {
            "error": "Choose who pays from the people in this call.",
            "field": "payer",
        }
    assert not PaymentRequest.objects.exists()


def test_a_payer_id_that_is_not_an_id_is_refused_with_a_reason_not_a_server_error(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer
) -> None:
    clinician = client_for(connected.clinician)
    clinician.raise_request_exception = False
    response = _create(clinician, call, payer="the patient")

    assert response.status_code == 400
    assert response.json()["field"] == "payer"
    assert not PaymentRequest.objects.exists()


def test_each_clinic_asks_on_its_own_account(
    connected: World,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    enable_payment_gateway(connected, connected.northside)
    connect_clinic(connected, sandbox, connected.northside, NORTHSIDE)
    call = start_call(connected, connected.northside, connected.other_clinician)
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call, actor=connected.other_clinician)
    assert pr.stripe_account_id == NORTHSIDE
    assert intent_at_stripe(sandbox, pr)["statement_descriptor_suffix"] == "NORTHSIDE PHYSIO"
    assert intents_at_stripe(sandbox, HARBOUR) == []
