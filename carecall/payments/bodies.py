"""The JSON bodies the payments endpoints accept, one schema per body (carecall.core.json_body).

Amounts travel as the text the person typed ("85.00"), never as a JSON number: a float would
round, and `amount_parse` reads the text in the currency's own decimals. Their JSON Schema, for
the JavaScript, is carecall/payments/static/payments/bodies.schema.json, written by
`python -m carecall.payments.bodies` (a test fails when the committed file is out of date).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from carecall.core.json_body import BodySchema, json_schema


class PaymentRequestBody(BodySchema):
    """POST clinics/<id>/visits/<id>/payments/: a clinician asks for a payment in the call."""

    # Typed in a textarea: line breaks are allowed (the service makes the text one line).
    MULTILINE: ClassVar[frozenset[str]] = frozenset({"description"})

    amount: str
    description: str
    payer: str = ""  # a participant id; empty: the patient


class PayerEmailBody(BodySchema):
    """POST …/payments/<id>/email/: the payer's address for the receipt."""

    email: str


class NoBody(BodySchema):
    """Endpoints that take no fields (cancel, complete): no body, or `{}`."""


BODIES: tuple[type[BodySchema], ...] = (PaymentRequestBody, PayerEmailBody, NoBody)


def bodies_json_schema() -> dict[str, object]:
    return json_schema(*BODIES)


SCHEMA_FILE = Path(__file__).parent / "static" / "payments" / "bodies.schema.json"


def bodies_json_schema_text() -> str:
    return json.dumps(bodies_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover - the file's maker; a test checks its output
    SCHEMA_FILE.write_text(bodies_json_schema_text(), encoding="utf-8")
