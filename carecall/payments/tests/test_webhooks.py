"""Stripe's webhook: signatures, redeliveries, events out of order, events that do not match the
request, and the webhook racing the payer's own `complete`."""

from __future__ import annotations

import copy
import functools
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

import stripe_sandbox
from carecall.audit.models import AuditEntry
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.models import PaymentRequest, PaymentStatus, StripeEvent
from carecall.payments.tests.helpers import (
    NORTHSIDE,
    Call,
    CallListener,
    decline_at_stripe,
    deliver_webhook,
    event_body,
    pay_at_stripe,
    post_json,
    request_payment,
    signature_for,
    stripe_client,
    stripe_event,
)
from carecall.payments.tests.webhook_recorder import WebhookRecorder
from testsupport.world import World


@pytest.fixture
def pr(connected: World, call: Call, django_capture_on_commit_callbacks: Any) -> PaymentRequest:
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    post_json(Client(), call.payer_url(pr, "email"), {"email": "pat@example.test"})
    pr.refresh_from_db()
    return pr


def _deliver(body: bytes, signature: str | None = None) -> Any:
    """Stripe posts it, then a worker runs (the view itself only stores it)."""
    return deliver_webhook(Client(), body, signature)


def _outcome(event: dict[str, Any]) -> str:
    return StripeEvent.objects.get(event_id=event["id"]).outcome


def test_the_succeeded_webhook_as_stripe_sent_it_marks_paid_with_the_card_and_one_receipt(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    pay_at_stripe(sandbox, pr)
    assert sandbox.wait_for_webhooks(5)
    (delivery,) = webhooks.of("payment_intent.succeeded", pr.payment_intent_id)
    listener = CallListener(call.visit)

    with django_capture_on_commit_callbacks(execute=True):
        response = _deliver(delivery.body, delivery.signature)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert (pr.card_brand, pr.card_last4) == ("visa", "4242")
    (receipt,) = mail.outbox
    assert receipt.to == ["pat@example.test"]
    stored = StripeEvent.objects.get(event_id=delivery.event["id"])
    assert (stored.type, stored.account, stored.outcome) == (
        "payment_intent.succeeded",
        pr.stripe_account_id,
        "applied: paid",
    )
    assert stored.processed_at is not None
    assert [m.request.status for m in listener.payments()] == ["paid"]


@pytest.mark.parametrize(
    "tamper",
    ["wrong-secret", "body-changed", "no-signature", "garbage-signature"],
)
def test_a_bad_signature_gets_400_and_nothing_is_stored(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
    tamper: str,
) -> None:
    pay_at_stripe(sandbox, pr)
    event = stripe_event(sandbox, pr, "payment_intent.succeeded")
    body = event_body(event)
    signature = signature_for(body)
    if tamper == "wrong-secret":
        signature = signature_for(body, secret="whsec_someone_else")
    elif tamper == "body-changed":
        tampered = body.replace(b'"amount": 8500', b'"amount": 1')
        assert tampered != body
        body = tampered
    elif tamper == "no-signature":
        signature = ""
    else:
        signature = "t=1,v1=00"

    with django_capture_on_commit_callbacks(execute=True):
        response = _deliver(body, signature)

    assert response.status_code == 400
    assert "error" in response.json()
    assert not StripeEvent.objects.exists()
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED
    assert mail.outbox == []


def test_a_stale_signature_gets_400_and_nothing_is_stored(
    pr: PaymentRequest, sandbox: stripe_sandbox.SandboxServer
) -> None:
    pay_at_stripe(sandbox, pr)
    body = event_body(stripe_event(sandbox, pr, "payment_intent.succeeded"))
    ten_minutes_ago = int(time.time()) - 600

    response = _deliver(body, signature_for(body, timestamp=ten_minutes_ago))

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED


def test_a_redelivered_event_gets_200_and_has_no_second_effect(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    pay_at_stripe(sandbox, pr)
    body = event_body(stripe_event(sandbox, pr, "payment_intent.succeeded"))
    with django_capture_on_commit_callbacks(execute=True):
        _deliver(body)
    listener = CallListener(call.visit)

    # Redelivered, freshly signed, as Stripe does on retries.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = _deliver(body)

    assert again.status_code == 200
    assert again.json() == {"received": True, "duplicate": True}
    assert callbacks == []
    assert StripeEvent.objects.count() == 1
    assert len(mail.outbox) == 1
    assert listener.payments() == []
    assert AuditEntry.objects.filter(action=PaymentAction.PAYMENT_PAID).count() == 1


def test_payment_failed_webhook_records_the_decline_reason(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    decline_at_stripe(sandbox, pr, "pm_card_chargeDeclinedInsufficientFunds")
    event = stripe_event(sandbox, pr, "payment_intent.payment_failed")
    with django_capture_on_commit_callbacks(execute=True):
        assert _deliver(event_body(event)).status_code == 200

    pr.refresh_from_db()
    assert pr.status == PaymentStatus.FAILED
    assert pr.failure_message == "Your card has insufficient funds."
    assert _outcome(event) == "applied: failed"


def test_payment_failed_arriving_after_succeeded_never_moves_a_paid_request_back(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    decline_at_stripe(sandbox, pr)
    pay_at_stripe(sandbox, pr)
    failed = stripe_event(sandbox, pr, "payment_intent.payment_failed")
    succeeded = stripe_event(sandbox, pr, "payment_intent.succeeded")
    assert failed["created"] <= succeeded["created"]

    with django_capture_on_commit_callbacks(execute=True):
        _deliver(event_body(succeeded))
        _deliver(event_body(failed))

    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    assert pr.failure_message == ""
    assert _outcome(failed) == "applied: paid"
    assert len(mail.outbox) == 1


def test_an_intent_cancelled_at_stripe_cancels_the_request(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert pr.payment_intent_id
    stripe_client(sandbox).v1.payment_intents.cancel(
        pr.payment_intent_id, {}, {"stripe_account": pr.stripe_account_id}
    )
    with django_capture_on_commit_callbacks(execute=True):
        _deliver(event_body(stripe_event(sandbox, pr, "payment_intent.canceled")))

    pr.refresh_from_db()
    assert pr.status == PaymentStatus.CANCELLED
    assert pr.cancel_reason == "Cancelled at Stripe."


@pytest.mark.parametrize("account", [NORTHSIDE, None], ids=["other-account", "platform"])
def test_an_event_naming_another_account_is_ignored(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
    account: str | None,
) -> None:
    pay_at_stripe(sandbox, pr)
    event = copy.deepcopy(stripe_event(sandbox, pr, "payment_intent.succeeded"))
    if account is None:
        del event["account"]
    else:
        event["account"] = account

    with django_capture_on_commit_callbacks(execute=True):
        response = _deliver(event_body(event))

    assert response.status_code == 200
    assert _outcome(event) == "ignored: foreign account"
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("field", "value"), [("amount", 1), ("currency", "nzd")], ids=["amount", "currency"]
)
def test_an_event_whose_amount_or_currency_differs_is_ignored(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
    field: str,
    value: object,
) -> None:
    pay_at_stripe(sandbox, pr)
    event = copy.deepcopy(stripe_event(sandbox, pr, "payment_intent.succeeded"))
    event["data"]["object"][field] = value

    with django_capture_on_commit_callbacks(execute=True):
        response = _deliver(event_body(event))

    assert response.status_code == 200
    assert _outcome(event) == "ignored: amount or currency differs"
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED


def test_an_event_for_an_intent_we_did_not_make_is_acknowledged_and_ignored(
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    pay_at_stripe(sandbox, pr)
    event = copy.deepcopy(stripe_event(sandbox, pr, "payment_intent.succeeded"))
    event["data"]["object"]["id"] = "pi_madeElsewhere"
    with django_capture_on_commit_callbacks(execute=True):
        assert _deliver(event_body(event)).status_code == 200
    assert _outcome(event) == "ignored: unknown PaymentIntent"


# ----------------------------------------------------------------------------- webhook vs complete


@pytest.mark.parametrize("first", ["webhook", "complete"])
def test_whichever_of_webhook_and_complete_comes_second_is_a_no_op(
    call: Call,
    pr: PaymentRequest,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
    first: str,
) -> None:
    pay_at_stripe(sandbox, pr)
    body = event_body(stripe_event(sandbox, pr, "payment_intent.succeeded"))
    steps = {
        "webhook": lambda: _deliver(body),
        "complete": lambda: post_json(Client(), call.payer_url(pr, "complete"), {}),
    }
    with django_capture_on_commit_callbacks(execute=True):
        steps[first]()
    pr.refresh_from_db()
    paid_at = pr.paid_at
    assert pr.status == PaymentStatus.PAID

    with django_capture_on_commit_callbacks(execute=True):
        steps["complete" if first == "webhook" else "webhook"]()

    pr.refresh_from_db()
    assert pr.paid_at == paid_at
    assert len(mail.outbox) == 1
    assert AuditEntry.objects.filter(action=PaymentAction.PAYMENT_PAID).count() == 1


def _race(**actions: Callable[[], Any]) -> dict[str, int]:
    """Start every action at the same moment, each in its own thread (and DB connection)."""
    barrier = threading.Barrier(len(actions))
    answers: dict[str, int] = {}
    errors: list[BaseException] = []

    def run(name: str, action: Callable[[], Any]) -> None:
        try:
            barrier.wait(5)
            answers[name] = action().status_code
        except BaseException as error:  # surfaced below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in actions.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    return answers


@pytest.mark.django_db(transaction=True)
def test_webhook_and_complete_racing_give_one_payment_and_one_receipt(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer
) -> None:
    """Real threads, real database transactions: the row lock decides who records it."""
    rounds = 3
    requests = []
    for i in range(rounds):
        pr = request_payment(connected, call, description=f"Race {i}")
        post_json(Client(), call.payer_url(pr, "email"), {"email": f"race{i}@example.test"})
        pay_at_stripe(sandbox, pr)
        requests.append((pr, event_body(stripe_event(sandbox, pr, "payment_intent.succeeded"))))

    for pr, body in requests:
        answers = _race(
            webhook=functools.partial(_deliver, body),
            complete=functools.partial(post_json, Client(), call.payer_url(pr, "complete"), {}),
        )
        assert answers == {"webhook": 200, "complete": 200}

    for pr, _body in requests:
        pr.refresh_from_db()
        assert pr.status == PaymentStatus.PAID
    receipts = sorted(m.to[0] for m in mail.outbox if m.subject.startswith("Your receipt"))
    assert receipts == [f"race{i}@example.test" for i in range(rounds)]
    assert AuditEntry.objects.filter(action=PaymentAction.PAYMENT_PAID).count() == rounds
    assert PaymentRequest.objects.filter(receipt_sent_at__isnull=False).count() == rounds
