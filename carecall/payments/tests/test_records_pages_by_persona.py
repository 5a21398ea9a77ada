"""Every payments-records page and action as each persona: who gets the page, who gets 403 (a
member without the role), who gets 404 (not a member: the place does not exist for them), and
anonymous visitors are sent to sign in. Refused actions change nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core import mail
from django.urls import reverse

from carecall.audit.models import AuditEntry
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.models import PaymentRequest, PaymentStatus, Refund
from carecall.payments.tests.test_records_support import add_request, at
from testsupport.world import PERSONAS, World, client_for

SIGN_IN = "/accounts/sign-in/"


@dataclass(frozen=True)
class Page:
    name: str
    method: str
    url: Callable[[World, PaymentRequest, PaymentRequest], str]
    data: dict[str, str] | None
    expected: dict[str, int]


def _clinic(name: str) -> Callable[[World, PaymentRequest, PaymentRequest], str]:
    return lambda w, mine, theirs: reverse(f"payments:{name}", args=[w.harbour.pk])


def _org(name: str) -> Callable[[World, PaymentRequest, PaymentRequest], str]:
    return lambda w, mine, theirs: reverse(f"payments:{name}", args=[w.organisation.pk])


def _payment(name: str, whose: str) -> Callable[[World, PaymentRequest, PaymentRequest], str]:
    def url(w: World, mine: PaymentRequest, theirs: PaymentRequest) -> str:
        pr = mine if whose == "mine" else theirs
        return reverse(f"payments:{name}", args=[pr.clinic_id, pr.pk])

    return url


MEMBERS = {"org_admin": 200, "clinic_admin": 200, "clinician": 200}
NOT_HERE = {"other_clinician": 403, "outsider": 404, "operator": 404, "anonymous": 302}
MANAGERS_ONLY = {"org_admin": 200, "clinic_admin": 200, "clinician": 403}
ORG_ADMINS_ONLY = {"org_admin": 200, "clinic_admin": 403, "clinician": 403}

PAGES = [
    Page("clinic list", "get", _clinic("clinic_payments"), None, {**MEMBERS, **NOT_HERE}),
    Page("clinic csv", "get", _clinic("clinic_payments_csv"), None, {**MEMBERS, **NOT_HERE}),
    Page("clinic report", "get", _clinic("clinic_report"), None, {**MANAGERS_ONLY, **NOT_HERE}),
    Page(
        "detail of the clinician's request",
        "get",
        _payment("payment_detail", "mine"),
        None,
        {**MEMBERS, **NOT_HERE},
    ),
    Page(
        "detail of the admin's request",
        "get",
        _payment("payment_detail", "theirs"),
        None,
        {**MANAGERS_ONLY, **NOT_HERE},
    ),
    Page(
        "refund (amount 0: refused after the access check)",
        "post",
        _payment("payment_refund", "mine"),
        {"amount": "0", "reason": "duplicate", "form_token": "persona"},
        {"org_admin": 400, "clinic_admin": 400, "clinician": 403, **NOT_HERE},
    ),
    Page(
        "resend receipt",
        "post",
        _payment("payment_resend_receipt", "mine"),
        {},
        {"org_admin": 302, "clinic_admin": 302, "clinician": 403, **NOT_HERE},
    ),
    Page("org list", "get", _org("org_payments"), None, {**ORG_ADMINS_ONLY, **NOT_HERE}),
    Page("org csv", "get", _org("org_payments_csv"), None, {**ORG_ADMINS_ONLY, **NOT_HERE}),
    Page("org report", "get", _org("org_report"), None, {**ORG_ADMINS_ONLY, **NOT_HERE}),
]
# Northside's clinician is a member of the organisation, so the org pages are 403 for them too.
CASES = [
    pytest.param(page, persona, id=f"{page.name}-{persona}")
    for page in PAGES
    for persona in PERSONAS
]


@pytest.mark.parametrize(("page", "persona"), CASES)
def test_records_page_by_persona(world: World, page: Page, persona: str) -> None:
    mine = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-10 10:00"),
        receipt_email="pat@example.test",
    )
    theirs = add_request(
        clinic=world.harbour, clinician=world.clinic_admin, created_at=at("2026-03-10 11:00")
    )
    client = client_for(world.persona(persona))
    url = page.url(world, mine, theirs)

    response = (
        getattr(client, page.method)(url, page.data)
        if page.data is not None
        else (getattr(client, page.method)(url))
    )

    expected = page.expected[persona]
    assert response.status_code == expected, response.content[:300]
    if expected == 302 and persona == "anonymous":
        assert response["Location"].startswith(SIGN_IN)
    if expected in (403, 404) or persona == "anonymous":
        assert mail.outbox == []
        assert not Refund.objects.exists()
        assert not AuditEntry.objects.filter(action=PaymentAction.RECEIPT_RESENT).exists()
    mine.refresh_from_db()
    assert (mine.status, mine.amount_refunded) == (PaymentStatus.PAID, 0)


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("clinic_payments", "post"),
        ("clinic_report", "post"),
        ("clinic_payments_csv", "post"),
        ("payment_refund", "get"),
        ("payment_resend_receipt", "get"),
    ],
)
def test_records_pages_answer_405_to_the_wrong_method(world: World, name: str, method: str) -> None:
    pr = add_request(
        clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-10 10:00")
    )
    args = [world.harbour.pk, pr.pk] if name.startswith("payment_") else [world.harbour.pk]

    response = getattr(client_for(world.clinic_admin), method)(
        reverse(f"payments:{name}", args=args)
    )

    assert response.status_code == 405


def test_a_clinic_that_does_not_exist_is_404_for_everyone(world: World) -> None:
    for name in ("clinic_payments", "clinic_report", "clinic_payments_csv"):
        url = reverse(f"payments:{name}", args=[999_999])
        assert client_for(world.org_admin).get(url).status_code == 404
    url = reverse("payments:org_payments", args=[999_999])
    assert client_for(world.org_admin).get(url).status_code == 404


def test_a_payment_id_that_does_not_exist_is_404(world: World) -> None:
    url = reverse(
        "payments:payment_detail",
        args=[world.harbour.pk, "00000000-0000-0000-0000-000000000000"],
    )
    assert client_for(world.clinic_admin).get(url).status_code == 404
