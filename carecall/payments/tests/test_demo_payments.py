"""The demo's sample payments (`carecall demo` runs `demo_payments_seed` after `demo_seed`),
made for real through stripe_sandbox: paid requests over several weeks, two refunds, a report
with something in it, and one coherent past for every row and audit entry."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

import stripe_sandbox
from carecall.audit.models import AuditEntry
from carecall.calls.models import Participant
from carecall.notifications.models import OutboxEmail
from carecall.orgs.demo import demo_seed
from carecall.orgs.models import Clinic
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.demo import demo_payments_seed
from carecall.payments.models import (
    PaymentRequest,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripeConnection,
)
from carecall.payments.reports import PaymentFilters, report_build
from carecall.payments.tests.helpers import NORTHSIDE, intents_at_stripe


def test_the_demo_makes_weeks_of_paid_requests_refunds_and_a_report_through_the_sandbox(
    db: None, sandbox: stripe_sandbox.SandboxServer
) -> None:
    demo_seed()
    started = timezone.now()

    made = demo_payments_seed(weeks=3)

    clinic = Clinic.objects.get(slug="northside-physio")
    connection = StripeConnection.objects.get(clinic=clinic)
    assert connection.account_id == NORTHSIDE  # connected through the sandbox's OAuth page
    requests = list(PaymentRequest.objects.filter(clinic=clinic).order_by("created_at"))
    assert made == len(requests) >= 15
    paid = [pr for pr in requests if pr.paid_at is not None]
    assert len(paid) >= 12
    # Several weeks of history, all of it in the past, every one really paid at Stripe.
    weeks = {pr.paid_on.isocalendar()[:2] for pr in paid if pr.paid_on}
    assert len(weeks) >= 3
    assert all(pr.paid_at and pr.paid_at < started for pr in paid)
    assert requests[-1].created_at > started - timedelta(days=2)
    assert requests[0].created_at < started - timedelta(days=18)
    at_stripe = {pi["id"]: pi for pi in intents_at_stripe(sandbox, NORTHSIDE)}
    for pr in paid:
        assert at_stripe[pr.payment_intent_id or ""]["status"] == "succeeded"
        assert at_stripe[pr.payment_intent_id or ""]["amount"] == pr.amount
    assert connection.connected_at < requests[0].created_at
    # Patients gave an email in the payment form: each paid one's receipt is in the outbox.
    for pr in paid:
        assert pr.receipt_email.endswith("@example.test")
        assert OutboxEmail.objects.filter(tag=f"payments.receipt:{pr.pk}", to=pr.receipt_email)

    # Two partial refunds, made after their payments (the next day), and settled.
    refunds = list(Refund.objects.filter(payment_request__clinic=clinic))
    assert len(refunds) == 2
    for refund in refunds:
        pr = refund.payment_request
        assert refund.amount == 2000 and refund.status == RefundStatus.SUCCEEDED
        assert pr.paid_at is not None
        assert pr.paid_at < refund.created_at < started
        assert pr.status == PaymentStatus.PARTIALLY_REFUNDED and pr.amount_refunded == 2000

    # Every request's own story is told at the times it happened: the visit, the request,
    # the payment and their audit entries agree.
    for pr in requests:
        visit = pr.visit
        entries = {e.action: e.at for e in AuditEntry.objects.filter(target=f"payment:{pr.pk}")}
        assert entries[PaymentAction.PAYMENT_REQUESTED] == pr.created_at
        assert visit.entered_at < pr.created_at
        assert visit.ended_at is not None and pr.created_at < visit.ended_at
        clinician = Participant.objects.get(visit=visit, user__isnull=False)
        assert clinician.joined_at is not None and clinician.joined_at < pr.created_at
        if pr.paid_at is not None:
            assert entries[PaymentAction.PAYMENT_PAID] == pr.paid_at
            assert pr.created_at < pr.paid_at < visit.ended_at
            local_hour = pr.paid_at.astimezone(ZoneInfo(clinic.timezone)).hour
            assert 8 <= local_hour <= 18  # opening hours, in the clinic's own time zone

    # The report over those weeks has totals, clinicians and days.
    report = report_build(
        PaymentFilters(
            clinics=(clinic.pk,),
            timezone=clinic.timezone,
            date_from=(started - timedelta(days=30)).date(),
        )
    )
    (totals,) = report.totals
    assert totals.currency == "AUD"
    assert totals.count == len(paid)
    assert totals.taken == sum(pr.amount for pr in paid)
    assert totals.refunded == 4000
    assert [row.name for row in report.by_clinician] == ["Nina Patel"]
    assert len(report.by_day) >= 10
    assert report.charts

    # Once only: a second run makes nothing.
    assert demo_payments_seed(weeks=3) == 0
