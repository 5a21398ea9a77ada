"""Every case of the webhook catalogue (webhook_cases.py), signed with our secret: a malformed
body is answered 400 with its reason and stores nothing; an unknown type is stored and then
ignored by the worker. No case changes anything else, and Stripe is not asked."""

from __future__ import annotations

import pytest

import stripe_sandbox
from carecall.jobs.worker import worker_drain
from carecall.payments.models import StripeEvent
from carecall.payments.tests.bad_input.scene import Scene
from carecall.payments.tests.bad_input.webhook_cases import WEBHOOK_CASES, WebhookCase
from carecall.payments.tests.helpers import post_webhook
from testsupport.db_snapshot import database_snapshot, snapshot_changes


@pytest.mark.parametrize("case", WEBHOOK_CASES, ids=[c.id for c in WEBHOOK_CASES])
def test_a_signed_but_bad_webhook_body_gets_its_answer_and_changes_nothing(
    scene: Scene, sandbox: stripe_sandbox.SandboxServer, case: WebhookCase
) -> None:
    client = scene.client("anonymous")
    before = database_snapshot()
    asked_before = len(sandbox.api_requests())

    response = post_webhook(client, case.body)
    worker_drain()

    assert response.status_code == case.status, response.content[:500]
    assert case.says.lower() in str(response.json()).lower(), response.json()
    changes = snapshot_changes(before, database_snapshot())
    if case.stored:
        (row,) = StripeEvent.objects.all()
        assert row.outcome.startswith("ignored"), row.outcome
        assert set(changes) == {"payments.StripeEvent"}
    else:
        assert changes == {}
    assert sandbox.api_requests()[asked_before:] == []
