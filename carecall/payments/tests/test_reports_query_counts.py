"""No query per row: the payments list, the report and the CSV (clinic and organisation) and a
payment's page make the same number of queries with 6 rows as with 126 (timings are for
bench/payments_page.py, not for tests)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from carecall.accounts.models import User
from carecall.audit.services import audit_record
from carecall.orgs.models import Membership, Role
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.models import PaymentRequest, PaymentStatus, Refund, RefundStatus
from carecall.payments.tests.test_records_support import add_request, at
from testsupport.world import World, client_for

STATUSES = [
    PaymentStatus.PAID,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REQUESTED,
    PaymentStatus.REFUNDED,
    PaymentStatus.CANCELLED,
]


def _seed(world: World, count: int, first: int = 0) -> None:
    clinicians = [world.clinician, world.clinic_admin]
    for i in range(first, first + count):
        clinician = clinicians[i % 2]
        clinic = world.harbour if i % 3 else world.northside
        status = STATUSES[i % len(STATUSES)]
        add_request(
            clinic=clinic,
            clinician=clinician if clinic == world.harbour else world.other_clinician,
            created_at=at("2026-02-01 09:00") + timedelta(days=i % 40, minutes=i),
            status=status,
            amount=1000 + i,
            amount_refunded=500 if status == PaymentStatus.PARTIALLY_REFUNDED else 0,
            first_name=f"Patient{i}",
            description=f"Visit {i}",
        )


def _queries(user: User, url: str, params: dict[str, str] | None = None) -> int:
    client = client_for(user)
    client.get(url, params)  # warm: session, permissions, anything cached per process
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content[:300]
    if response.context and "entries" in response.context:
        assert response.context["entries"], "a list page with no rows would skip its page query"
    return len(captured.captured_queries)


PAGES = [
    ("clinic list", "clinic_admin", "payments:clinic_payments", "clinic", None),
    (
        "clinic list, filtered",
        "clinic_admin",
        "payments:clinic_payments",
        "clinic",
        {"from": "2026-02-01", "to": "2026-03-31", "status": "paid", "q": "visit"},
    ),
    ("clinic list, page 2", "clinic_admin", "payments:clinic_payments", "clinic", {"page": "2"}),
    ("clinician's list", "clinician", "payments:clinic_payments", "clinic", None),
    ("clinic report", "clinic_admin", "payments:clinic_report", "clinic", None),
    (
        "clinic report, a month",
        "clinic_admin",
        "payments:clinic_report",
        "clinic",
        {"from": "2026-02-01", "to": "2026-02-28"},
    ),
    ("clinic csv", "clinic_admin", "payments:clinic_payments_csv", "clinic", None),
    ("org list", "org_admin", "payments:org_payments", "org", None),
    ("org report", "org_admin", "payments:org_report", "org", None),
    ("org csv", "org_admin", "payments:org_payments_csv", "org", None),
]


@pytest.mark.parametrize(
    ("who", "name", "scope", "params"),
    [pytest.param(*p[1:], id=p[0]) for p in PAGES],
)
def test_the_number_of_queries_does_not_grow_with_the_number_of_payments(
    world: World, who: str, name: str, scope: str, params: dict[str, str] | None
) -> None:
    world.northside.currency = "NZD"
    world.northside.save()
    url = reverse(name, args=[world.harbour.pk if scope == "clinic" else world.organisation.pk])
    user = world.persona(who)
    assert user is not None
    _seed(world, 6)
    few = _queries(user, url, params)

    _seed(world, 120, first=6)
    # More clinicians too: the clinician filter's list must not cost a query each.
    for n in range(5):
        extra = User.objects.create_user(
            f"extra{n}@example.test", "pw-long-enough-1", full_name=f"Extra {n}"
        )
        Membership.objects.create(
            user=extra, organisation=world.organisation, clinic=world.harbour, role=Role.CLINICIAN
        )
    many = _queries(user, url, params)

    assert PaymentRequest.objects.count() == 126
    assert many == few
    assert many <= 12, f"{many} queries"


def test_a_payments_page_costs_the_same_with_one_refund_or_many(world: World) -> None:
    pr = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-10 10:00"),
        amount=100_00,
        receipt_email="pat@example.test",
    )
    url = reverse("payments:payment_detail", args=[pr.clinic_id, pr.pk])

    def refund(n: int) -> None:
        Refund.objects.create(
            payment_request=pr,
            amount=100,
            reason="requested_by_customer",
            requested_by=world.clinic_admin if n % 2 else world.org_admin,
            form_token=f"q-{n}",
            status=RefundStatus.SUCCEEDED,
        )
        audit_record(
            action=PaymentAction.PAYMENT_REFUNDED,
            actor=world.clinic_admin,
            clinic=world.harbour,
            target=f"payment:{pr.pk}",
            summary=f"Refund {n}",
        )

    refund(0)
    one = _queries(world.clinic_admin, url)
    for n in range(1, 15):
        refund(n)
    many = _queries(world.clinic_admin, url)

    assert many == one
