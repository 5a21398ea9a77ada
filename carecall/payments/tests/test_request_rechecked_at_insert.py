"""Making a PaymentIntent can take Stripe many seconds, and nothing is locked meanwhile. What was
checked before it (the call is on, the clinician in it, the clinic's account) is checked again
when the request is saved; a request that cannot be saved leaves no row, and its intent, which
nobody has the client secret of, is cancelled at Stripe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import stripe_sandbox
from carecall.audit.models import AuditEntry
from carecall.calls.models import Participant, ParticipantKind
from carecall.calls.services import participant_leave, visit_end
from carecall.core.errors import ServiceError
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.gateway import Intent
from carecall.payments.models import OPEN_STATUSES, PaymentRequest, StripeConnection
from carecall.payments.services import connection, requests
from carecall.payments.tests.helpers import (
    HARBOUR,
    Call,
    consent,
    intents_at_stripe,
    request_payment,
)
from testsupport.world import World

ACCOUNT_CHANGED = (
    "The clinic's Stripe account was changed or removed while the payment was being set up: "
    "nothing was charged."
)


def _while_stripe_makes_the_intent(
    monkeypatch: pytest.MonkeyPatch, meanwhile: Callable[[], object]
) -> list[Intent]:
    """Run `meanwhile` inside the (slow) intent create, after Stripe made the intent; returns
    the intents made."""
    real = requests.get_gateway()
    made: list[Intent] = []

    class Slow:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def intent_create(self, **kwargs: Any) -> Intent:
            intent = real.intent_create(**kwargs)
            made.append(intent)
            if len(made) == 1:
                meanwhile()
            return intent

    monkeypatch.setattr(requests, "get_gateway", Slow)
    return made


def _status_at_stripe(sandbox: stripe_sandbox.SandboxServer, intent_id: str | None) -> str:
    (found,) = [i for i in intents_at_stripe(sandbox, HARBOUR) if i["id"] == intent_id]
    return str(found["status"])


def _nothing_requested() -> bool:
    return (
        not PaymentRequest.objects.exists()
        and not AuditEntry.objects.filter(action=PaymentAction.PAYMENT_REQUESTED).exists()
    )


def test_an_account_changed_while_stripe_makes_the_intent_gets_no_request_and_it_is_cancelled(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def change_account() -> None:
        location = consent(
            sandbox,
            new_account={
                "business_name": "Harbour GP Trust",
                "email": "trust@harbour.test",
                "country": "AU",
                "currency": "aud",
            },
        )
        code = parse_qs(urlsplit(location).query)["code"][0]
        connection.connection_complete(
            actor=connected.clinic_admin, clinic=call.visit.clinic, code=code
        )

    made = _while_stripe_makes_the_intent(monkeypatch, change_account)

    with pytest.raises(ServiceError) as refused:
        request_payment(connected, call)

    assert refused.value.message == ACCOUNT_CHANGED
    assert _nothing_requested()
    assert StripeConnection.objects.get(clinic=connected.harbour).account_id != HARBOUR
    (intent,) = made
    assert _status_at_stripe(sandbox, intent.id) == "canceled"


def test_an_account_removed_while_stripe_makes_the_intent_gets_no_request(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = _while_stripe_makes_the_intent(
        monkeypatch,
        lambda: connection.connection_remove(
            actor=connected.clinic_admin, clinic=connected.harbour
        ),
    )

    with pytest.raises(ServiceError) as refused:
        request_payment(connected, call)

    assert refused.value.message == ACCOUNT_CHANGED
    assert _nothing_requested()
    assert not PaymentRequest.objects.filter(status__in=OPEN_STATUSES).exists()
    assert len(made) == 1  # made on the account, which CareCall no longer has access to


def test_a_request_saved_while_the_account_is_being_removed_is_cancelled_with_it(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The request's insert wins the race against the removal's first sweep (at Stripe): the
    removal's last step, under the connection's lock, cancels it too."""
    real_sweep = connection.payment_requests_cancel_open
    sneaked: list[PaymentRequest] = []

    def sweep(*, clinic_id: int | None, account_id: str, reason: str, at_stripe: bool) -> int:
        count = real_sweep(
            clinic_id=clinic_id, account_id=account_id, reason=reason, at_stripe=at_stripe
        )
        if at_stripe and not sneaked:
            sneaked.append(request_payment(connected, call))
        return count

    monkeypatch.setattr(connection, "payment_requests_cancel_open", sweep)

    connection.connection_remove(actor=connected.clinic_admin, clinic=connected.harbour)

    (pr,) = sneaked
    pr.refresh_from_db()
    assert pr.status == "cancelled"
    assert pr.cancel_reason == "The clinic removed its Stripe account."
    assert not StripeConnection.objects.exists()


def test_a_call_ended_while_stripe_makes_the_intent_gets_no_request_and_the_intent_is_cancelled(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = _while_stripe_makes_the_intent(
        monkeypatch, lambda: visit_end(actor=connected.clinician, visit=call.visit)
    )

    with pytest.raises(ServiceError) as refused:
        request_payment(connected, call)

    assert refused.value.message == (
        "The call ended while the payment was being set up: nothing was charged."
    )
    assert _nothing_requested()
    (intent,) = made
    assert _status_at_stripe(sandbox, intent.id) == "canceled"


def test_a_clinician_who_left_while_stripe_makes_the_intent_gets_no_request_and_it_is_cancelled(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clinician = Participant.objects.get(
        visit=call.visit, user=connected.clinician, kind=ParticipantKind.CLINICIAN
    )
    made = _while_stripe_makes_the_intent(
        monkeypatch, lambda: participant_leave(participant=clinician)
    )

    with pytest.raises(ServiceError) as refused:
        request_payment(connected, call)

    assert refused.value.message == (
        "You left the call while the payment was being set up: nothing was charged."
    )
    assert _nothing_requested()
    (intent,) = made
    assert _status_at_stripe(sandbox, intent.id) == "canceled"


# ----------------------------------------------------------------------------- orphan intents


def test_a_reference_taken_just_before_the_insert_cancels_the_orphan_intent_and_says_try_again(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = request_payment(connected, call)
    # As if another request took this reference after _free_reference had looked.
    monkeypatch.setattr(requests, "_free_reference", lambda: first.reference)
    made = _while_stripe_makes_the_intent(monkeypatch, lambda: None)

    with pytest.raises(ServiceError) as refused:
        request_payment(connected, call, description="Second")

    assert refused.value.message == (
        "The payment could not be saved: nothing was charged. Try again."
    )
    assert list(PaymentRequest.objects.all()) == [first]
    (intent,) = made
    assert _status_at_stripe(sandbox, intent.id) == "canceled"
    assert _status_at_stripe(sandbox, first.payment_intent_id) == "requires_payment_method"


def test_an_insert_failing_for_any_reason_leaves_nothing_and_cancels_the_orphan_intent(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_audit(**_kwargs: Any) -> None:
        raise RuntimeError("the audit trail is unavailable")

    made = _while_stripe_makes_the_intent(monkeypatch, lambda: None)
    monkeypatch.setattr(requests, "audit_record", broken_audit)

    with pytest.raises(RuntimeError):
        request_payment(connected, call)

    assert not PaymentRequest.objects.exists()
    (intent,) = made
    assert _status_at_stripe(sandbox, intent.id) == "canceled"


def test_a_taken_reference_is_never_given_and_the_intents_metadata_has_the_one_saved(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = request_payment(connected, call)
    drawn = iter([first.reference, first.reference, "CC-FREE23"])
    monkeypatch.setattr(requests, "_new_reference", lambda: next(drawn))

    second = request_payment(connected, call, description="Second")

    assert second.reference == "CC-FREE23"
    (at_stripe,) = [
        i for i in intents_at_stripe(sandbox, HARBOUR) if i["id"] == second.payment_intent_id
    ]
    assert at_stripe["metadata"]["reference"] == "CC-FREE23"
