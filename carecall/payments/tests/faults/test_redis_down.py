"""Redis (the channel layer) down or stalled: a committed change is never a 500, the live event
is lost and logged, and nothing about money changes (issue 11, fault 1).

Real commits (transactional tests), so the after-commit announcements really run against a
real Redis that is stopped (connections refused) or SIGSTOPped (accepted, never answered)."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import pytest
from django.db import transaction
from django.db.models.signals import post_save
from django.test import Client
from django.urls import reverse

import stripe_sandbox
from carecall.calls.models import Visit
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.tests.faults.invariants import StatusHistory, assert_money_invariants
from carecall.payments.tests.helpers import (
    Call,
    intent_at_stripe,
    pay_at_stripe,
    post_json,
    request_payment,
)
from testsupport.world import World

pytestmark = pytest.mark.django_db(transaction=True)


def test_patient_enters_the_waiting_area_while_redis_is_down_and_gets_their_link_once(
    world: World, redis_stopped: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="carecall.calls.realtime"):
        response = Client().post(
            reverse("calls:entry", args=["harbour-gp"]),
            {"first_name": "Pat", "last_name": "Jones", "phone": "", "accept_terms": "on"},
        )
    assert response.status_code == 302
    assert re.fullmatch(r"/v/[^/]+/", response["Location"])
    assert Visit.objects.count() == 1  # no retry needed, so no second visit
    assert "publishing to waiting." in caplog.text  # the lost live event is logged


def test_payment_request_saved_while_redis_is_down_keeps_its_intent_open(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    redis_stopped: str,
    history: StatusHistory,
) -> None:
    pr = request_payment(connected, call)

    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED
    assert intent_at_stripe(sandbox, pr)["status"] == "requires_payment_method"
    pay_at_stripe(sandbox, pr)  # still payable: the patient pays it
    response = post_json(Client(), call.payer_url(pr, "complete"), {})
    assert response.status_code == 200
    assert response.json()["request"]["status"] == "paid"
    assert_money_invariants(sandbox, history=history)


def test_payer_who_just_paid_is_told_paid_while_redis_is_down(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    redis_stopped: str,
    history: StatusHistory,
) -> None:
    pr = request_payment(connected, call)
    post_json(Client(), call.payer_url(pr, "email"), {"email": "pat@example.test"})
    pay_at_stripe(sandbox, pr)

    response = post_json(Client(), call.payer_url(pr, "complete"), {})

    assert response.status_code == 200
    assert response.json()["request"]["status"] == "paid"
    assert_money_invariants(sandbox, history=history)


def test_payer_who_just_paid_is_told_paid_while_redis_accepts_but_never_answers(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    redis_hung: str,
) -> None:
    pr = request_payment(connected, call)
    pay_at_stripe(sandbox, pr)

    started = time.monotonic()
    response = post_json(Client(), call.payer_url(pr, "complete"), {})

    assert response.status_code == 200
    assert response.json()["request"]["status"] == "paid"
    # Each lost publish waits for redis-py's socket timeout (5 s) before it is logged.
    assert time.monotonic() - started < 30
    assert_money_invariants(sandbox, history=history)


def test_an_error_after_the_commit_never_cancels_a_saved_requests_intent(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    history: StatusHistory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Whatever fails once the request is committed (here another receiver's after-commit work)
    is logged; the clinician gets the saved request and its intent stays payable."""

    def fails_after_commit(instance: PaymentRequest, created: bool, **_kwargs: Any) -> None:
        if created:
            transaction.on_commit(lambda: (_ for _ in ()).throw(ConnectionError("Redis down")))

    post_save.connect(fails_after_commit, sender=PaymentRequest, weak=False)
    try:
        with caplog.at_level(logging.ERROR, logger="carecall.payments.services.requests"):
            pr = request_payment(connected, call)
    finally:
        post_save.disconnect(fails_after_commit, sender=PaymentRequest)

    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED
    assert intent_at_stripe(sandbox, pr)["status"] == "requires_payment_method"
    assert "an after-commit step failed" in caplog.text
    assert_money_invariants(sandbox, history=history)
