"""The bad-input catalogue for Stripe's webhook, as data: bodies signed with our secret (so
only their content is wrong), each with the answer expected. A refused body stores nothing; an
event of a type CareCall does not act on is stored, and the worker marks it ignored without
asking Stripe or changing anything else."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WebhookCase:
    id: str
    body: bytes
    says: str
    status: int = 400
    stored: bool = False  # accepted into the inbox (and then ignored by the worker)


def event(**changes: Any) -> bytes:
    base: dict[str, Any] = {
        "id": "evt_bad_input",
        "object": "event",
        "type": "payment_intent.succeeded",
        "account": "acct_harbour",
        "created": 1764800000,
        "data": {"object": {"id": "pi_bad_input", "object": "payment_intent"}},
    }
    base.update(changes)
    return json.dumps({k: v for k, v in base.items() if v is not ...}).encode()


WEBHOOK_CASES = [
    WebhookCase("webhook-array-body", b"[]", "not a JSON object"),
    WebhookCase("webhook-string-body", b'"evt"', "not a JSON object"),
    WebhookCase("webhook-not-json", b"{id: evt}", "not JSON"),
    WebhookCase("webhook-empty-body", b"", "not JSON"),
    WebhookCase(
        "webhook-invalid-utf8", event(id="evt_\u00e9").replace(b"\\u00e9", b"\xe9"), "not UTF-8"
    ),
    WebhookCase("webhook-object-is-a-list", event(data={"object": []}), "data.object"),
    WebhookCase("webhook-object-is-text", event(data={"object": "pi_1"}), "data.object"),
    WebhookCase("webhook-no-data", event(data=...), "data.object"),
    WebhookCase("webhook-data-is-a-list", event(data=[{"object": {}}]), "data.object"),
    WebhookCase("webhook-no-id", event(id=...), "id"),
    WebhookCase("webhook-id-number", event(id=12), "id"),
    WebhookCase("webhook-id-empty", event(id=""), "id"),
    WebhookCase("webhook-id-nul", event(id="evt_\u0000"), "control characters"),
    WebhookCase("webhook-id-too-long", event(id="evt_" + "x" * 200), "at most 80"),
    WebhookCase("webhook-no-type", event(type=...), "type"),
    WebhookCase("webhook-type-list", event(type=["payment_intent.succeeded"]), "type"),
    WebhookCase("webhook-type-escape", event(type="payment\u001b[2J"), "control characters"),
    WebhookCase("webhook-account-number", event(account=5), "account"),
    WebhookCase("webhook-account-nul", event(account="acct_\u0000"), "control characters"),
    WebhookCase("webhook-created-text", event(created="yesterday"), "created"),
    WebhookCase("webhook-created-negative", event(created=-1), "created"),
    WebhookCase("webhook-created-boolean", event(created=True), "created"),
    WebhookCase("webhook-created-huge", event(created=10**30), "created"),
    WebhookCase(
        "webhook-5000-digit-number", event().replace(b"1764800000", b"9" * 5000), "not JSON"
    ),
    WebhookCase(
        "webhook-deep-nesting",
        b'{"id": "evt_1", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "not JSON",
    ),
    WebhookCase("webhook-lone-surrogate-id", event(id="\udc00"), "control characters"),
    WebhookCase(
        "webhook-unknown-type", event(type="customer.created"), "received", status=200, stored=True
    ),
]
