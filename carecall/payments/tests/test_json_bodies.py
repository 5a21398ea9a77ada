"""Every JSON endpoint of payments reads its body through its declared schema
(carecall/payments/bodies.py): hostile or mistyped bodies answer 400 with a reason and the field,
and change nothing — no row, no intent at Stripe, no receipt address."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stripe_sandbox
from carecall.core.errors import ServiceError
from carecall.core.json_body import BodyError, json_body_decode
from carecall.payments.bodies import (
    BODIES,
    SCHEMA_FILE,
    NoBody,
    PayerEmailBody,
    PaymentRequestBody,
    bodies_json_schema_text,
)
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.tests.helpers import HARBOUR, Call, intents_at_stripe, request_payment
from testsupport.world import World, client_for

GOOD = b'{"amount": "85.00", "description": "Standard consultation"}'
DEEP = b'{"amount": "85.00", "description": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
HUGE = b'{"amount": ' + b"9" * 4300 + b', "description": "Standard consultation"}'

# (body bytes, field named in the answer or None for the body as a whole, words of the reason)
REQUEST_BODIES = [
    pytest.param(
        b'{"amount": "85.00", "description": ["a", "b"]}',
        "description",
        "description must be text.",
        id="list-as-description",
    ),
    pytest.param(
        b'{"amount": 85, "description": "Consult"}', "amount", "amount must be text.", id="number"
    ),
    pytest.param(HUGE, "amount", "amount must be text.", id="4300-digit-integer"),
    pytest.param(DEEP, "description", "description must be text.", id="deep-nesting"),
    pytest.param(
        b'{"amount": "85.00", "description": {"a": 1}}',
        "description",
        "description must be text.",
        id="object-as-description",
    ),
    pytest.param(
        b'{"amount": "85.00", "description": null}',
        "description",
        "description must be text.",
        id="null-description",
    ),
    pytest.param(
        b'{"amount": "85.00", "description": true}',
        "description",
        "description must be text.",
        id="boolean-description",
    ),
    pytest.param(
        b'{"amount": "85.00", "description": "x", "payer": 3}',
        "payer",
        "payer must be text.",
        id="number-as-payer",
    ),
    pytest.param(
        b'{"amount": "85.00"}', "description", "The field description is missing.", id="missing"
    ),
    pytest.param(
        b'{"amount": "85.00", "description": "x", "currency": "usd"}',
        "currency",
        "Unknown field currency.",
        id="unknown-field",
    ),
    pytest.param(
        b'{"amount": "85.00", "description": "Consult\\u0000ation"}',
        "description",
        "description: remove the control characters",
        id="nul-escaped",
    ),
    pytest.param(
        b'{"amount": "85.00", "description": "Consult\\u001bation"}',
        "description",
        "description: remove the control characters",
        id="escape-character",
    ),
    pytest.param(
        b'{"amount": "85.00", "description": "Consult\\u202eation"}',
        "description",
        "description: remove the control characters",
        id="bidi-override",
    ),
    pytest.param(
        b'{"amount": "85\\u0000", "description": "Consult"}',
        "amount",
        "amount: remove the control characters",
        id="nul-in-amount",
    ),
    pytest.param(
        b'{"amount": "85.00", "description": "Consult\xff"}',
        None,
        "The request body is not valid UTF-8.",
        id="invalid-utf8",
    ),
    pytest.param(
        b'{"amount": "85.00", "description": "\\ud800"}',
        None,
        "The request body is not valid JSON.",
        id="lone-surrogate",
    ),
    pytest.param(b'["85.00", "Consult"]', None, "must be a JSON object", id="array-body"),
    pytest.param(b'"85.00"', None, "must be a JSON object", id="string-body"),
    pytest.param(b"{nope", None, "The request body is not valid JSON.", id="not-json"),
    pytest.param(GOOD + b" trailing", None, "not valid JSON", id="trailing-garbage"),
]


def _post(client: Client, url: str, body: bytes, content_type: str = "application/json") -> Any:
    client.raise_request_exception = False
    return client.post(url, data=body, content_type=content_type)


def _said(response: Any, field: str | None, words: str) -> None:
    assert response.status_code == 400, response.content[:300]
    answer = response.json()
    assert words in answer["error"]
    assert answer.get("field") == field


@pytest.mark.parametrize(("body", "field", "words"), REQUEST_BODIES)
def test_a_bad_payment_request_body_is_refused_with_its_field_and_nothing_reaches_stripe(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    body: bytes,
    field: str | None,
    words: str,
) -> None:
    response = _post(client_for(connected.clinician), call.staff_url(), body)

    _said(response, field, words)
    assert not PaymentRequest.objects.exists()
    assert intents_at_stripe(sandbox, HARBOUR) == []


def test_a_form_encoded_payment_request_is_refused_asking_for_json(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer
) -> None:
    client = client_for(connected.clinician)
    response = client.post(call.staff_url(), {"amount": "85.00", "description": "Consult"})

    _said(response, None, "Send the request body as JSON")
    assert not PaymentRequest.objects.exists()


def test_the_same_body_well_typed_is_accepted(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer
) -> None:
    """The refusals above are about the body, not the call: a good body makes the request."""
    body = b'{"amount": "85.00", "description": "Standard\\nconsultation"}'
    response = _post(client_for(connected.clinician), call.staff_url(), body)

    assert response.status_code == 201, response.content
    assert PaymentRequest.objects.get().description == "Standard consultation"


def test_a_nul_in_a_description_is_refused_by_the_service_before_stripe_is_called(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer
) -> None:
    with pytest.raises(ServiceError) as refused:
        request_payment(connected, call, description="Consult\x00ation")

    assert refused.value.field == "description"
    assert not PaymentRequest.objects.exists()
    assert intents_at_stripe(sandbox, HARBOUR) == []


EMAIL_BODIES = [
    pytest.param(b'{"email": ["a@example.test"]}', "email", "email must be text.", id="list"),
    pytest.param(b'{"email": 12}', "email", "email must be text.", id="number"),
    pytest.param(b"{}", "email", "The field email is missing.", id="missing"),
    pytest.param(
        b'{"email": "a@example.test", "amount": 1}', "amount", "Unknown field", id="unknown"
    ),
    pytest.param(b'{"email": "a@example.test\\u0000"}', "email", "remove the control", id="nul"),
    pytest.param(b'{"email": "\xff@example.test"}', None, "not valid UTF-8", id="invalid-utf8"),
    pytest.param(b"[]", None, "must be a JSON object", id="array-body"),
]


@pytest.mark.parametrize(("body", "field", "words"), EMAIL_BODIES)
def test_a_bad_receipt_email_body_is_refused_with_its_field_and_the_address_is_unchanged(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    body: bytes,
    field: str | None,
    words: str,
) -> None:
    pr = request_payment(connected, call)
    browser = Client()
    browser.get(f"/v/{call.token}/")

    response = _post(browser, call.payer_url(pr, "email"), body)

    _said(response, field, words)
    pr.refresh_from_db()
    assert pr.receipt_email == ""


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"reason": "x"}', id="unknown-field"),
        pytest.param(b"[]", id="array"),
        pytest.param(b"{", id="not-json"),
    ],
)
def test_cancel_and_complete_take_no_fields_and_refuse_a_body_that_has_some(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer, body: bytes
) -> None:
    pr = request_payment(connected, call)
    browser = Client()
    browser.get(f"/v/{call.token}/")

    cancelled = _post(client_for(connected.clinician), call.cancel_url(pr), body)
    completed = _post(browser, call.payer_url(pr, "complete"), body)

    assert cancelled.status_code == completed.status_code == 400
    assert "error" in cancelled.json() and "error" in completed.json()
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.REQUESTED


def test_cancel_with_no_body_still_cancels(
    connected: World, call: Call, sandbox: stripe_sandbox.SandboxServer
) -> None:
    pr = request_payment(connected, call)

    response = client_for(connected.clinician).post(call.cancel_url(pr))

    assert response.status_code == 200, response.content
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.CANCELLED


# ----------------------------------------------------------------------------- the schemas


def test_the_committed_json_schema_for_the_js_is_the_declared_one() -> None:
    """Regenerate with `python -m carecall.payments.bodies` after changing a body."""
    assert SCHEMA_FILE.read_text(encoding="utf-8") == bodies_json_schema_text()
    names = set(json.loads(SCHEMA_FILE.read_text())["$defs"])
    assert names == {b.__name__ for b in BODIES}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
FIELDS = st.sampled_from(["amount", "description", "payer", "email", "x", ""])
OBJECTS = st.dictionaries(FIELDS, JSON_VALUES, max_size=4)


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    schema=st.sampled_from([PaymentRequestBody, PayerEmailBody, NoBody]),
    body=st.one_of(
        OBJECTS.map(lambda o: json.dumps(o).encode()),
        JSON_VALUES.map(lambda o: json.dumps(o).encode()),
        st.binary(max_size=64),
    ),
)
def test_fuzzed_bodies_give_a_typed_schema_or_a_reason_never_anything_else(
    schema: type[msgspec.Struct], body: bytes
) -> None:
    try:
        decoded = json_body_decode(body, content_type="application/json", schema=schema)
    except BodyError as error:
        assert error.message
        if error.field is not None:
            assert error.field in error.message
        return
    assert isinstance(decoded, schema)
    for field in msgspec.structs.fields(schema):
        value = getattr(decoded, field.name)
        assert isinstance(value, str)
        assert "\x00" not in value
