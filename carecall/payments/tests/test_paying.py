"""The payer's side: list, open, receipt email, complete. Stripe (never the browser) says what is
paid; a payment is recorded once, with one receipt and one `payment` message."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

import stripe_sandbox
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.services.reconcile import payments_reconcile
from carecall.payments.tests.helpers import (
    HARBOUR,
    Call,
    CallListener,
    decline_at_stripe,
    intent_at_stripe,
    pay_at_stripe,
    post_json,
    request_payment,
    start_call,
)
from testsupport.db_snapshot import database_snapshot, snapshot_changes
from testsupport.world import World, client_for


@pytest.fixture
def pr(connected: World, call: Call, django_capture_on_commit_callbacks: Any) -> PaymentRequest:
    with django_capture_on_commit_callbacks(execute=True):
        return request_payment(connected, call)


def _complete(call: Call, pr: PaymentRequest, client: Client | None = None) -> Any:
    return post_json(client or Client(), call.payer_url(pr, "complete"), {})


def test_the_payer_lists_and_opens_the_request_with_what_stripe_js_needs(
    call: Call, pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer
) -> None:
    patient = Client()
    listed = patient.get(call.payer_url())
    assert listed.status_code == 200
    assert listed.json()["me"] == str(call.patient.pk)
    (item,) = listed.json()["requests"]
    assert item["id"] == str(pr.pk)
    assert item["amount_display"] == "AUD 85.00"
    assert item["description"] == "Standard consultation"
    assert item["clinic"] == "Harbour GP"
    assert "client_secret" not in item

    opened = patient.get(call.payer_url(pr))
    assert opened.status_code == 200
    body = opened.json()
    assert body["client_secret"] == intent_at_stripe(sandbox, pr)["client_secret"]
    assert body["publishable_key"] == "pk_test_carecall_tests"
    assert body["stripe_account"] == HARBOUR
    assert body["request"]["status"] == "requested"


def test_a_patient_of_another_visit_gets_404_for_this_visits_request(
    connected: World,
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
) -> None:
    other = start_call(connected, first_name="Sam", last_name="Other")
    stranger = Client()
    for action in ("", "email", "complete"):
        url = other.payer_url(pr, action)
        response = (
            stranger.get(url)
            if not action
            else post_json(stranger, url, {"email": "sam@example.test"})
        )
        assert response.status_code == 404, action
    assert stranger.get(other.payer_url()).json()["requests"] == []
    pr.refresh_from_db()
    assert (pr.status, pr.receipt_email) == (PaymentStatus.REQUESTED, "")


def test_a_made_up_link_opens_nothing(
    call: Call, pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer
) -> None:
    fake = Call(visit=call.visit, token="not-a-real-token", patient=call.patient)
    assert Client().get(fake.payer_url()).status_code == 404
    assert Client().get(fake.payer_url(pr)).status_code == 404


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("cancelled", "This payment request was cancelled: Cancelled by Chris Lee."),
        ("expired", "This payment request has expired. Contact the clinic."),
        ("paid", "This payment has been made already."),
    ],
)
def test_paying_a_cancelled_expired_or_paid_request_gets_409_with_a_clear_message(
    connected: World,
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
    state: str,
    message: str,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        if state == "cancelled":
            client_for(connected.clinician).post(call.cancel_url(pr))
        elif state == "expired":
            PaymentRequest.objects.filter(pk=pr.pk).update(
                expires_at=timezone.now() - timedelta(hours=1)
            )
        else:
            pay_at_stripe(sandbox, pr)
            _complete(call, pr)

    patient = Client()
    with django_capture_on_commit_callbacks(execute=True):
        opened = patient.get(call.payer_url(pr))
        email = post_json(patient, call.payer_url(pr, "email"), {"email": "pat@example.test"})

    for response in (opened, email):
        assert response.status_code == 409
        assert response.json()["error"] == message
    assert "client_secret" not in opened.json()
    pr.refresh_from_db()
    assert pr.status == state
    if state == "expired":
        # The payer's POST after its time is what expired it; Stripe's intent goes too.
        assert intent_at_stripe(sandbox, pr)["status"] == "canceled"


def test_opening_an_overdue_request_writes_nothing_and_calls_no_stripe_until_reconcile(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The payer's GET only reads: the reconcile job expires the request (asking Stripe first)
    and cancels its intent."""
    PaymentRequest.objects.filter(pk=pr.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    before = database_snapshot()
    asked_before = len(sandbox.api_requests())

    with django_capture_on_commit_callbacks(execute=True):
        opened = Client().get(call.payer_url(pr))

    assert opened.status_code == 409
    assert opened.json()["request"]["status"] == "expired"
    assert snapshot_changes(before, database_snapshot()) == {}
    assert sandbox.api_requests()[asked_before:] == []
    with django_capture_on_commit_callbacks(execute=True):
        payments_reconcile()
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.EXPIRED
    assert intent_at_stripe(sandbox, pr)["status"] == "canceled"


def test_the_409_for_an_overdue_request_shows_it_expired_so_the_page_drops_pay_now(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The page re-renders its list from the 409's `request` (payments.js, open())."""
    PaymentRequest.objects.filter(pk=pr.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        opened = Client().get(call.payer_url(pr))

    assert opened.status_code == 409
    assert opened.json()["request"]["status"] == "expired"
    assert opened.json()["request"]["status_label"] == "Expired"


def test_complete_on_an_unpaid_intent_leaves_it_unpaid(
    call: Call, pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer
) -> None:
    # The browser claims success; Stripe says the intent still wants a card.
    response = _complete(call, pr)

    assert response.status_code == 200
    assert response.json()["request"]["status"] == "requested"
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED
    assert pr.paid_at is None
    assert mail.outbox == []


def test_a_declined_card_is_recorded_with_its_reason_and_another_card_then_pays(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert decline_at_stripe(sandbox, pr) == "Your card was declined."
    failed = _complete(call, pr).json()["request"]
    assert failed["status"] == "failed"
    assert failed["failure_message"] == "Your card was declined."
    # Failed can be retried: the payer still gets the client secret.
    assert Client().get(call.payer_url(pr)).status_code == 200

    pay_at_stripe(sandbox, pr, "pm_card_mastercard")
    with django_capture_on_commit_callbacks(execute=True):
        paid = _complete(call, pr).json()["request"]
    assert paid["status"] == "paid"
    assert paid["failure_message"] == ""
    assert (paid["card_brand"], paid["card_last4"]) == ("Mastercard", "4444")


def test_paid_records_the_card_sends_a_receipt_and_tells_the_call(
    connected: World,
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    connected.harbour.contact_email = "reception@harbourgp.test"
    connected.harbour.contact_phone = "02 9000 1234"
    connected.harbour.save()
    patient = Client()
    given = post_json(patient, call.payer_url(pr, "email"), {"email": " Pat.Jones@Example.test "})
    assert given.status_code == 200
    # Stripe gets the address too, so it can send its own receipt in live mode.
    assert intent_at_stripe(sandbox, pr)["receipt_email"] == "pat.jones@example.test"
    listener = CallListener(call.visit)

    pay_at_stripe(sandbox, pr)
    with django_capture_on_commit_callbacks(execute=True):
        response = _complete(call, pr, patient)

    assert response.status_code == 200
    info = response.json()["request"]
    assert info["status"] == "paid"
    assert (info["card_brand"], info["card_last4"]) == ("Visa", "4242")
    assert info["paid_at_display"]
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert (pr.card_brand, pr.card_last4) == ("visa", "4242")
    assert pr.paid_at is not None and pr.receipt_sent_at is not None

    (receipt,) = mail.outbox
    assert receipt.to == ["pat.jones@example.test"]
    assert pr.reference in receipt.subject
    assert "Harbour GP" in receipt.subject
    html = receipt.alternatives[0][0]  # type: ignore[attr-defined]
    assert receipt.alternatives[0][1] == "text/html"  # type: ignore[attr-defined]
    for part in (receipt.body, html):
        for expected in (
            "AUD 85.00",
            "Standard consultation",
            "Harbour GP",
            "reception@harbourgp.test",
            "02 9000 1234",
            "4242",
            "Visa",
            pr.reference,
        ):
            assert expected in part, expected

    (message,) = listener.payments()
    assert message.request.id == str(pr.pk)
    assert message.request.status == "paid"
    assert message.request.card_last4 == "4242"


def test_a_second_complete_changes_nothing_and_sends_no_second_receipt(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    post_json(Client(), call.payer_url(pr, "email"), {"email": "pat@example.test"})
    pay_at_stripe(sandbox, pr)
    with django_capture_on_commit_callbacks(execute=True):
        _complete(call, pr)
    pr.refresh_from_db()
    paid_at = pr.paid_at
    listener = CallListener(call.visit)

    with django_capture_on_commit_callbacks(execute=True):
        again = _complete(call, pr)

    assert again.status_code == 200
    assert again.json()["request"]["status"] == "paid"
    pr.refresh_from_db()
    assert pr.paid_at == paid_at
    assert len(mail.outbox) == 1
    assert listener.payments() == []


def test_without_an_email_no_receipt_is_sent_but_the_payment_is_recorded(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    pay_at_stripe(sandbox, pr)
    with django_capture_on_commit_callbacks(execute=True):
        _complete(call, pr)
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert pr.receipt_sent_at is None
    assert mail.outbox == []


def test_the_receipt_email_must_be_an_email_address(
    call: Call, pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer
) -> None:
    response = post_json(Client(), call.payer_url(pr, "email"), {"email": "pat at home"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Enter a valid email address for your receipt.",
        "field": "email",
    }
    pr.refresh_from_db()
    assert pr.receipt_email == ""
    assert intent_at_stripe(sandbox, pr)["receipt_email"] is None


def test_stripe_keeps_the_last_receipt_address_the_payer_gave(
    call: Call, pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer
) -> None:
    """A payer corrects a typo and then goes back to the first address."""
    patient = Client()
    for email in ("pat@example.test", "pat@exmaple.test", "pat@example.test"):
        assert post_json(patient, call.payer_url(pr, "email"), {"email": email}).status_code == 200

    pr.refresh_from_db()
    assert pr.receipt_email == "pat@example.test"
    assert intent_at_stripe(sandbox, pr)["receipt_email"] == "pat@example.test"


@pytest.mark.parametrize("request_id", ["0" * 36, "-" * 36], ids=["no-dashes", "only-dashes"])
def test_a_malformed_request_id_in_the_payers_link_is_404_not_a_server_error(
    call: Call, pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer, request_id: str
) -> None:
    patient = Client(raise_request_exception=False)
    base = call.payer_url()
    assert patient.get(f"{base}{request_id}/").status_code == 404
    assert patient.post(f"{base}{request_id}/complete/").status_code == 404
