"""The staff pages people open on a phone as well as at a desk: the site header, home, members,
the payments list, a payment, the reports, the operator's queue. At 360×640 and 390×844 (touch)
and at 1280×800 nothing scrolls sideways, every control can be hit (44 px on touch screens),
nothing hidden shows and axe-core finds no serious violation. Screenshots of each under
var/screenshots/ (pages-<size>-<page>.png)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from carecall.accounts.models import User
from carecall.orgs.demo import CLINICIAN, OPERATOR, ORG_ADMIN, PHYSIO, demo_seed
from carecall.orgs.models import Clinic, Organisation
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.tests.test_records_support import add_request
from e2e.call_helpers import sign_in
from e2e.layout_checks import check_page_layout

SIZES: dict[str, dict[str, Any]] = {
    "360": {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True},
    "390": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "1280": {"viewport": {"width": 1280, "height": 800}},
}

LONG = (
    "Long consultation including a care plan review, referral letters to two specialists "
    "and a follow-up plan"
)


def _history() -> PaymentRequest:
    """Payments at both clinics over the last days: paid, refunded in part, cancelled, with a
    long description and long names (what makes a table wide). Returns a paid one."""
    harbour = Clinic.objects.get(slug="harbour-gp")
    northside = Clinic.objects.get(slug="northside-physio")
    chris = User.objects.get(email=CLINICIAN.email)
    nina = User.objects.get(email=PHYSIO.email)
    now = timezone.now()
    paid = add_request(
        clinic=harbour, clinician=chris, created_at=now - timedelta(hours=2), description=LONG
    )
    add_request(
        clinic=harbour,
        clinician=chris,
        created_at=now - timedelta(days=1, hours=3),
        amount=12050,
        amount_refunded=2000,
        status=PaymentStatus.PARTIALLY_REFUNDED,
        first_name="Alexandria",
        last_name="Montgomery-Whitfield",
    )
    cancelled = add_request(
        clinic=harbour,
        clinician=chris,
        created_at=now - timedelta(days=2),
        status=PaymentStatus.CANCELLED,
    )
    PaymentRequest.objects.filter(pk=cancelled.pk).update(
        cancel_reason=f"Cancelled by {CLINICIAN.full_name}."
    )
    for days in (3, 5, 8):
        add_request(
            clinic=northside,
            clinician=nina,
            created_at=now - timedelta(days=days),
            amount=9500,
            description="Physiotherapy session",
        )
    return paid


@pytest.fixture
def world_with_payments(live_url: str) -> PaymentRequest:
    demo_seed()
    return _history()


@pytest.fixture(params=list(SIZES))
def context(request: pytest.FixtureRequest, browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(**SIZES[request.param])
    ctx.size_name = request.param  # type: ignore[attr-defined]
    try:
        yield ctx
    finally:
        ctx.close()


def _check(page: Page, size: str, name: str, problems: list[str]) -> None:
    """Every page is checked and shot even when an earlier one failed: the report lists all."""
    page.wait_for_load_state("load")
    try:
        check_page_layout(page, shot=f"pages-{size}-{name}")
    except AssertionError as error:
        problems.append(f"{name}: {error}")


def test_staff_pages_fit_every_size(
    live_url: str, context: BrowserContext, world_with_payments: PaymentRequest
) -> None:
    size: str = context.size_name  # type: ignore[attr-defined]
    paid = world_with_payments
    organisation = Organisation.objects.get(slug="demo-health")
    harbour = paid.clinic
    page = context.new_page()
    sign_in(page, live_url, ORG_ADMIN.email)
    pages = {
        "home": reverse("orgs:home"),
        "organisation": reverse("orgs:organisation", args=[organisation.pk]),
        "members": reverse("orgs:clinic_members", args=[harbour.pk]),
        "payments": reverse("payments:org_payments", args=[organisation.pk]),
        "report": reverse("payments:org_report", args=[organisation.pk]),
        "clinic-report": reverse("payments:clinic_report", args=[harbour.pk]),
        "payment": reverse("payments:payment_detail", args=[harbour.pk, paid.pk]),
    }
    problems: list[str] = []
    for name, path in pages.items():
        page.goto(live_url + path)
        _check(page, size, name, problems)
    # The payments table reads as a person would write it.
    page.goto(live_url + pages["payments"])
    expect(page.get_by_role("main")).to_contain_text(f"Cancelled by {CLINICIAN.full_name}")
    expect(page.get_by_role("main")).not_to_contain_text("Cancelled (Cancelled")

    context.clear_cookies()  # the operator signs in afresh in the same window size
    operator = context.new_page()
    sign_in(operator, live_url, OPERATOR.email)
    _check(operator, size, "operator-home", problems)
    operator.goto(live_url + reverse("clinic_apps:operator_queue"))
    _check(operator, size, "operator-queue", problems)
    assert not problems, "\n".join(problems)
