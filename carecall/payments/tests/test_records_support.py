"""Set-up shared by the records, refunds, reports, CSV and audit tests (no tests in here).

Two ways to get payment requests:

- `add_request`: a row made with the ORM, with the visit and patient it needs and the times you
  choose. For the read side (filters, totals, CSV, query counts), which only reads rows.
- `paid_request`: the real way, through the services and `stripe_sandbox`: a call, a request,
  the patient's receipt address, a card confirmed at Stripe, and the status read back from it.
"""

from __future__ import annotations

import csv
import io
import itertools
import secrets
import warnings
import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.http.response import HttpResponseBase

import stripe_sandbox
from carecall.accounts.models import User
from carecall.audit.models import AuditEntry
from carecall.calls.models import Participant, ParticipantKind, Visit
from carecall.orgs.models import Clinic
from carecall.payments.models import PAID_STATUSES, PaymentRequest, PaymentStatus
from carecall.payments.services.intents import payment_request_reconcile
from carecall.payments.services.requests import payment_request_set_email
from carecall.payments.tests.helpers import pay_at_stripe, request_payment, start_call
from testsupport.world import World

SYDNEY = zoneinfo.ZoneInfo("Australia/Sydney")
UTC = zoneinfo.ZoneInfo("UTC")
_numbers = itertools.count(1)


def at(text: str, tz: zoneinfo.ZoneInfo = SYDNEY) -> datetime:
    """'2026-03-11 00:30' in a time zone (Sydney unless told) as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def add_request(
    *,
    clinic: Clinic,
    clinician: User,
    created_at: datetime,
    status: str = PaymentStatus.PAID,
    amount: int = 8500,
    currency: str | None = None,
    description: str = "Standard consultation",
    first_name: str = "Pat",
    last_name: str = "Jones",
    paid_at: datetime | None = None,
    amount_refunded: int = 0,
    card: tuple[str, str] = ("visa", "4242"),
    account: str = stripe_sandbox.HARBOUR_GP_ACCOUNT_ID,
    receipt_email: str = "",
) -> PaymentRequest:
    """One payment request as the ORM sees it, with its visit and patient; times as given."""
    n = next(_numbers)
    visit = Visit.objects.create(
        clinic=clinic,
        token_hash=secrets.token_hex(32),
        first_name=first_name,
        last_name=last_name,
        status="done",
    )
    patient = Participant.objects.create(
        visit=visit, kind=ParticipantKind.PATIENT, display_name=visit.display_name
    )
    paid = status in PAID_STATUSES
    if paid and paid_at is None:
        paid_at = created_at + timedelta(minutes=5)
    pr = PaymentRequest.objects.create(
        reference=f"CC-T{n:06d}",
        visit=visit,
        clinic=clinic,
        payer=patient,
        requested_by=clinician,
        stripe_account_id=account,
        amount=amount,
        currency=currency or clinic.currency,
        description=description,
        status=status,
        payment_intent_id=f"pi_test_{n:06d}_{secrets.token_hex(4)}",
        receipt_email=receipt_email,
        card_brand=card[0] if paid else "",
        card_last4=card[1] if paid else "",
        amount_refunded=amount_refunded,
        expires_at=created_at + timedelta(days=7),
        paid_at=paid_at if paid else None,
    )
    # created_at is set on insert; move it to the moment the test is about.
    PaymentRequest.objects.filter(pk=pr.pk).update(created_at=created_at)
    pr.refresh_from_db()
    return pr


def paid_request(
    world: World,
    sandbox: stripe_sandbox.SandboxServer,
    *,
    amount: str = "85.00",
    description: str = "Standard consultation",
    email: str = "pat@example.test",
    first_name: str = "Pat",
    last_name: str = "Jones",
    clinic: Clinic | None = None,
    clinician: User | None = None,
) -> PaymentRequest:
    """Requested in a call, paid with a Visa at the sandbox, recorded from what Stripe says."""
    call = start_call(
        world, clinic=clinic, clinician=clinician, first_name=first_name, last_name=last_name
    )
    pr = request_payment(
        world, call, amount=amount, description=description, actor=clinician or world.clinician
    )
    payment_request_set_email(payment_request=pr, email=email)
    pay_at_stripe(sandbox, pr)
    payment_request_reconcile(payment_request=pr)
    pr.refresh_from_db()
    assert pr.status == PaymentStatus.PAID
    return pr


def backdate_audit(entry: AuditEntry, when: datetime) -> None:
    """Move an entry to the moment a scenario says it happened.

    The app refuses to change entries (that is the point of them), so a test that needs a past
    moment writes it with plain SQL, as a migration of old data would."""
    table = AuditEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET at = %s WHERE id = %s",
            [connection.ops.adapt_datetimefield_value(when), entry.pk],
        )


def response_body(response: HttpResponseBase) -> bytes:
    """A response's bytes, streamed or not. The test client is WSGI-style and consumes the CSV
    export's async stream synchronously (Django warns about that; under ASGI it streams)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "StreamingHttpResponse must consume asynchronous")
        return b"".join(response)


def csv_rows(body: bytes | HttpResponseBase) -> list[dict[str, str]]:
    """The export as dicts (after checking and dropping the BOM)."""
    text = (body if isinstance(body, bytes) else response_body(body)).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def context_entries(response: Any) -> list[PaymentRequest]:
    """The payment requests a list page rendered, in order."""
    return [e["pr"] for e in response.context["entries"]]
