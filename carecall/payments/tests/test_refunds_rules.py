"""Refunds from the payment's page: clinic admins (and org admins) refund all or part with a
reason, through Stripe, once per form; what is left is shown and enforced; the patient is
emailed; and every wrong attempt gets a message and changes nothing, here or at Stripe."""

from __future__ import annotations

import html
import re
import secrets
import threading
import time
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.urls import reverse

import stripe_sandbox
from carecall.audit.models import AuditEntry
from carecall.core.errors import ServiceError
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.models import PaymentRequest, PaymentStatus, Refund, RefundStatus
from carecall.payments.services.intents import payment_request_reconcile
from carecall.payments.services.refunds import refund_create, refundable_amount
from carecall.payments.tests.helpers import (
    pay_at_stripe,
    request_payment,
    start_call,
    stripe_client,
)
from carecall.payments.tests.test_records_support import add_request, at, paid_request
from testsupport.world import World, client_for

TRY_AGAIN = "Stripe did not answer, so the refund may or may not have gone through."


@pytest.fixture
def paid(connected: World, sandbox: stripe_sandbox.SandboxServer) -> PaymentRequest:
    """AUD 85.00 paid by Pat Jones with a Visa, receipt to pat@example.test."""
    pr = paid_request(connected, sandbox)
    mail.outbox.clear()
    return pr


def _detail_url(pr: PaymentRequest) -> str:
    return reverse("payments:payment_detail", args=[pr.clinic_id, pr.pk])


def _refund_url(pr: PaymentRequest, clinic_id: int | None = None) -> str:
    return reverse("payments:payment_refund", args=[clinic_id or pr.clinic_id, pr.pk])


def _post_refund(
    client: Client,
    pr: PaymentRequest,
    amount: str,
    *,
    token: str | None = None,
    reason: str = "requested_by_customer",
    note: str = "",
    clinic_id: int | None = None,
) -> Any:
    return client.post(
        _refund_url(pr, clinic_id),
        {
            "amount": amount,
            "reason": reason,
            "note": note,
            "form_token": token if token is not None else secrets.token_urlsafe(24),
        },
    )


def _stripe_refunds(sandbox: stripe_sandbox.SandboxServer, pr: PaymentRequest) -> list[int]:
    listed = stripe_client(sandbox).v1.refunds.list(
        {"payment_intent": pr.payment_intent_id or ""}, {"stripe_account": pr.stripe_account_id}
    )
    return [int(r.amount) for r in listed.data]


def _page(response: Any) -> str:
    return html.unescape(response.content.decode())


def _unchanged(pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer) -> None:
    before_status, before_refunded = pr.status, pr.amount_refunded
    pr.refresh_from_db()
    assert (pr.status, pr.amount_refunded) == (before_status, before_refunded)
    assert not Refund.objects.exists()
    assert not AuditEntry.objects.filter(action=PaymentAction.PAYMENT_REFUNDED).exists()
    assert _stripe_refunds(sandbox, pr) == []
    assert mail.outbox == []


def test_clinic_admin_refunds_part_the_request_is_partially_refunded_and_the_patient_emailed(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(connected.clinic_admin)
    before = client.get(_detail_url(paid))
    assert "Left to refund: AUD 85.00" in _page(before)
    token = before.context["form_token"]

    with django_capture_on_commit_callbacks(execute=True):
        response = _post_refund(client, paid, "20", token=token, note="Session  cut\nshort")

    assert response.status_code == 302
    paid.refresh_from_db()
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 2000)
    (refund,) = Refund.objects.all()
    assert (refund.amount, refund.reason, refund.note, refund.status) == (
        2000,
        "requested_by_customer",
        "Session cut short",
        RefundStatus.SUCCEEDED,
    )
    assert refund.requested_by == connected.clinic_admin
    assert refund.stripe_refund_id and refund.stripe_refund_id.startswith("re_")
    assert _stripe_refunds(sandbox, paid) == [2000]
    (email,) = mail.outbox
    assert email.to == ["pat@example.test"]
    assert email.subject == f"Refund from Harbour GP ({paid.reference})"
    assert "Harbour GP refunded AUD 20.00 of your payment of AUD 85.00." in email.body

    after = _page(client.get(response["Location"]))
    assert "Refunded AUD 20.00." in after
    assert "Partially refunded" in after
    assert "Left to refund: AUD 65.00" in after
    # What is left is said, never put in the field: a refund of all of it is typed, then asked.
    assert 'name="amount" inputmode="decimal" value=""' in after
    assert "Up to AUD 65.00." in after


def test_the_refund_form_is_not_prefilled_and_asks_with_the_typed_amount(
    connected: World, paid: PaymentRequest
) -> None:
    client = client_for(connected.clinic_admin)
    page = _page(client.get(_detail_url(paid)))
    (form,) = re.findall(r'<form[^>]*/refund/"[^>]*>', page)
    # core/confirm.js reads these: the dialog repeats the typed amount with 2 decimals.
    assert 'data-confirm-field="amount"' in form and 'data-confirm-decimals="2"' in form
    assert "AUD %(value)s goes back to the card it was paid with." in html.unescape(form)
    assert 'name="amount" inputmode="decimal" value=""' in page
    assert 'aria-describedby="refund-amount-help"' in page and 'id="refund-amount-help"' in page


def test_a_refused_refund_keeps_what_was_typed(connected: World, paid: PaymentRequest) -> None:
    client = client_for(connected.clinic_admin)
    token = client.get(_detail_url(paid)).context["form_token"]
    response = _post_refund(client, paid, "999", token=token)
    assert response.status_code == 400
    page = _page(response)
    assert 'name="amount" inputmode="decimal" value="999"' in page
    assert not Refund.objects.exists()


def test_refunding_what_is_left_makes_it_refunded_and_nothing_more_can_be_refunded(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(connected.org_admin)  # org admins may refund too
    with django_capture_on_commit_callbacks(execute=True):
        _post_refund(client, paid, "60.00")
        _post_refund(client, paid, "25.00", reason="duplicate")

    paid.refresh_from_db()
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.REFUNDED, 8500)
    assert _stripe_refunds(sandbox, paid) == [2500, 6000]
    assert len(mail.outbox) == 2
    page = _page(client.get(_detail_url(paid)))
    assert "Left to refund: AUD 0.00" in page
    assert 'name="amount"' not in page  # no refund form any more

    again = _post_refund(client, paid, "1.00")

    assert again.status_code == 400
    assert "Only a paid payment can be refunded (this one is refunded)." in _page(again)
    assert Refund.objects.count() == 2
    assert _stripe_refunds(sandbox, paid) == [2500, 6000]


def test_a_refund_above_what_is_left_is_refused_with_the_most_allowed(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(connected.clinic_admin)
    with django_capture_on_commit_callbacks(execute=True):
        _post_refund(client, paid, "20.00")
    paid.refresh_from_db()
    mail.outbox.clear()

    response = _post_refund(client, paid, "65.01")

    assert response.status_code == 400
    assert "The largest amount allowed here is AUD 65.00." in _page(response)
    paid.refresh_from_db()
    assert (paid.status, paid.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 2000)
    assert Refund.objects.count() == 1
    assert _stripe_refunds(sandbox, paid) == [2000]
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("amount", "reason", "message"),
    [
        ("0", "requested_by_customer", "The amount must be more than zero."),
        ("-5", "requested_by_customer", "The amount must be more than zero."),
        ("ten", "requested_by_customer", "Enter the amount as a number, for example 85.00."),
        ("1.005", "requested_by_customer", "AUD amounts have at most 2 decimals."),
        ("1e9", "requested_by_customer", "That amount is too large for one card payment."),
        ("10", "because", "Choose a reason for the refund."),
        ("10", "", "Choose a reason for the refund."),
    ],
    ids=["zero", "negative", "words", "decimals", "huge", "unknown-reason", "no-reason"],
)
def test_bad_refund_input_gets_400_with_a_message_and_changes_nothing(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    amount: str,
    reason: str,
    message: str,
) -> None:
    response = _post_refund(client_for(connected.clinic_admin), paid, amount, reason=reason)

    assert response.status_code == 400
    assert message in _page(response)
    _unchanged(paid, sandbox)


def test_a_refund_without_a_form_token_asks_to_reload_and_changes_nothing(
    connected: World, paid: PaymentRequest, sandbox: stripe_sandbox.SandboxServer
) -> None:
    response = _post_refund(client_for(connected.clinic_admin), paid, "10", token="")

    assert response.status_code == 400
    assert "Reload the page and try again." in _page(response)
    _unchanged(paid, sandbox)


def test_an_unpaid_request_cannot_be_refunded(
    connected: World, call: Any, sandbox: stripe_sandbox.SandboxServer
) -> None:
    pr = request_payment(connected, call)

    response = _post_refund(client_for(connected.clinic_admin), pr, "10")

    assert response.status_code == 400
    assert "Only a paid payment can be refunded (this one is requested)." in _page(response)
    _unchanged(pr, sandbox)


def test_a_clinician_cannot_refund_even_their_own_request(
    connected: World, paid: PaymentRequest, sandbox: stripe_sandbox.SandboxServer
) -> None:
    assert paid.requested_by == connected.clinician
    page = _page(client_for(connected.clinician).get(_detail_url(paid)))
    assert 'name="amount"' not in page

    response = _post_refund(client_for(connected.clinician), paid, "10")

    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        refund_create(
            actor=connected.clinician,
            payment_request=paid,
            amount_text="10",
            reason="requested_by_customer",
            note="",
            form_token="direct-call",
        )
    _unchanged(paid, sandbox)


def test_a_double_submitted_refund_form_refunds_once(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(connected.clinic_admin)
    token = client.get(_detail_url(paid)).context["form_token"]

    with django_capture_on_commit_callbacks(execute=True):
        first = _post_refund(client, paid, "20.00", token=token)
        second = _post_refund(client, paid, "20.00", token=token)

    assert (first.status_code, second.status_code) == (302, 302)
    assert "Refunded AUD 20.00." in _page(client.get(second["Location"]))
    assert Refund.objects.count() == 1
    assert _stripe_refunds(sandbox, paid) == [2000]
    paid.refresh_from_db()
    assert paid.amount_refunded == 2000
    assert len(mail.outbox) == 1
    assert AuditEntry.objects.filter(action=PaymentAction.PAYMENT_REFUNDED).count() == 1


def test_a_form_token_used_for_one_payment_cannot_refund_another(
    connected: World, paid: PaymentRequest, sandbox: stripe_sandbox.SandboxServer
) -> None:
    other = paid_request(connected, sandbox, first_name="Ava", email="ava@example.test")
    client = client_for(connected.clinic_admin)
    _post_refund(client, paid, "20.00", token="one-form")

    response = _post_refund(client, other, "20.00", token="one-form")

    assert response.status_code == 400
    assert "This refund form was already used for another payment." in _page(response)
    other.refresh_from_db()
    assert (other.status, other.amount_refunded) == (PaymentStatus.PAID, 0)
    assert _stripe_refunds(sandbox, other) == []


def test_another_clinics_payment_id_is_not_found_and_not_refunded(
    connected: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    northside = add_request(
        clinic=connected.northside,
        clinician=connected.other_clinician,
        created_at=at("2026-03-10 10:00"),
    )
    admin = client_for(connected.clinic_admin)

    # Through Harbour's address: no such payment there.
    assert _post_refund(admin, northside, "10", clinic_id=connected.harbour.pk).status_code == 404
    assert (
        admin.get(
            reverse("payments:payment_detail", args=[connected.harbour.pk, northside.pk])
        ).status_code
        == 404
    )
    # Through Northside's own address: Harbour's admin has no role there.
    assert _post_refund(admin, northside, "10").status_code == 403
    # And someone of another organisation does not learn it exists.
    assert _post_refund(client_for(connected.outsider), northside, "10").status_code == 404
    northside.refresh_from_db()
    assert (northside.status, northside.amount_refunded) == (PaymentStatus.PAID, 0)
    assert not Refund.objects.exists()


def test_stripe_down_before_the_refund_says_try_again_and_leaves_nothing(
    connected: World, paid: PaymentRequest, sandbox: stripe_sandbox.SandboxServer
) -> None:
    sandbox.configure_faults(
        api_error_rate=1.0,
        api_error_status=503,
        api_error_when="before",
        api_error_paths=["/v1/refunds"],
    )

    response = _post_refund(client_for(connected.clinic_admin), paid, "20.00")

    assert response.status_code == 503
    assert TRY_AGAIN in _page(response)
    sandbox.clear_faults()
    _unchanged(paid, sandbox)


def test_the_same_form_sent_again_after_stripes_answer_was_lost_refunds_only_once(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Stripe made the refund but its answer never arrived (timeout, 5xx after the fact). The
    admin's browser sends the very same form again: Stripe must not refund a second time."""
    client = client_for(connected.clinic_admin)
    token = client.get(_detail_url(paid)).context["form_token"]
    sandbox.configure_faults(
        api_error_rate=1.0,
        api_error_status=500,
        api_error_when="after",
        api_error_paths=["/v1/refunds"],
    )
    lost = _post_refund(client, paid, "20.00", token=token)
    assert lost.status_code == 503
    sandbox.clear_faults()

    with django_capture_on_commit_callbacks(execute=True):
        _post_refund(client, paid, "20.00", token=token)

    assert _stripe_refunds(sandbox, paid) == [2000], "the patient was refunded twice"
    paid.refresh_from_db()
    assert paid.amount_refunded == 2000


def test_trying_again_from_the_page_shown_after_a_lost_answer_refunds_only_once(
    connected: World,
    paid: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The admin does what the 503 page says ("Try again") and presses Refund on that page."""
    client = client_for(connected.clinic_admin)
    sandbox.configure_faults(
        api_error_rate=1.0,
        api_error_status=500,
        api_error_when="after",
        api_error_paths=["/v1/refunds"],
    )
    lost = _post_refund(client, paid, "20.00")
    assert lost.status_code == 503
    sandbox.clear_faults()

    with django_capture_on_commit_callbacks(execute=True):
        _post_refund(client, paid, "20.00", token=lost.context["form_token"])

    assert _stripe_refunds(sandbox, paid) == [2000], "the patient was refunded twice"


def test_refundable_amount_counts_pending_refunds_as_taken(
    connected: World, paid: PaymentRequest
) -> None:
    Refund.objects.create(
        payment_request=paid,
        amount=3000,
        reason="requested_by_customer",
        requested_by=connected.clinic_admin,
        form_token="pending-one",
        status=RefundStatus.PENDING,
    )
    Refund.objects.create(
        payment_request=paid,
        amount=1000,
        reason="requested_by_customer",
        requested_by=connected.clinic_admin,
        form_token="failed-one",
        status=RefundStatus.FAILED,
    )
    assert refundable_amount(paid) == 5500
    with pytest.raises(ServiceError, match=r"The largest amount allowed here is AUD 55\.00\."):
        refund_create(
            actor=connected.clinic_admin,
            payment_request=paid,
            amount_text="55.01",
            reason="requested_by_customer",
            note="",
            form_token="too-much",
        )


def test_a_patient_without_a_receipt_address_is_refunded_without_an_email(
    connected: World,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    call = start_call(connected)
    pr = request_payment(connected, call)
    pay_at_stripe(sandbox, pr)
    payment_request_reconcile(payment_request=pr)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = _post_refund(client_for(connected.clinic_admin), pr, "85.00")

    assert response.status_code == 302
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REFUNDED
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submits_of_one_refund_form_refund_once_and_both_get_an_answer(
    connected: World, paid: PaymentRequest, sandbox: stripe_sandbox.SandboxServer
) -> None:
    """A double click: the second POST arrives while the first is still talking to Stripe."""
    token = "double-click"
    sandbox.configure_faults(api_latency_ms=800)  # the first one is at Stripe for a while
    answers: dict[str, int] = {}
    crashes: dict[str, BaseException] = {}
    clients = {
        "first": client_for(connected.clinic_admin),
        "second": client_for(connected.clinic_admin),
    }

    def submit(name: str, delay: float) -> None:
        try:
            time.sleep(delay)
            answers[name] = _post_refund(clients[name], paid, "20.00", token=token).status_code
        except BaseException as error:  # surfaced below, in the test's thread
            crashes[name] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=submit, args=("first", 0.0)),
        threading.Thread(target=submit, args=("second", 0.3)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    sandbox.clear_faults()

    assert _stripe_refunds(sandbox, paid) == [2000]
    assert Refund.objects.count() == 1
    assert crashes == {}, "a submit crashed instead of finding the other's refund"
    assert answers["first"] == 302
    assert answers["second"] in (302, 400, 409)  # the same refund again, or a clear message


@pytest.mark.parametrize("note", ["Duplicate\x00charge", "Duplicate\x1b[31m", "Dup\u202elicate"])
def test_a_refund_note_with_control_characters_is_refused_before_stripe_with_a_reason(
    connected: World, paid: PaymentRequest, sandbox: stripe_sandbox.SandboxServer, note: str
) -> None:
    client = client_for(connected.clinic_admin)
    client.raise_request_exception = False

    response = _post_refund(client, paid, "20", note=note)

    assert response.status_code == 400
    assert "Remove the control characters" in _page(response)
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.PAID and paid.amount_refunded == 0
    assert not Refund.objects.exists()
    assert _stripe_refunds(sandbox, paid) == []
