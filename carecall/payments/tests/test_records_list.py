"""The payments list (/clinics/<id>/payments/, /orgs/<id>/payments/): what each row shows, the
filters (dates in the clinic's time zone, status, clinician, text), newest first in pages of 50,
and bad filters answered with a message instead of a crash."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
from django.urls import reverse

from carecall.payments.models import PaymentStatus
from carecall.payments.reports import filters_parse, payments_query
from carecall.payments.tests.test_records_support import (
    UTC,
    add_request,
    at,
    context_entries,
)
from testsupport.world import World, client_for


def _list_url(world: World) -> str:
    return reverse("payments:clinic_payments", args=[world.harbour.pk])


def _refs(params: dict[str, str], world: World, **kwargs: int | None) -> list[str]:
    result = filters_parse(params, clinics=[world.harbour], **kwargs)
    assert result.errors == []
    return [pr.reference for pr in payments_query(result.filters)]


def test_a_row_shows_local_time_patient_clinician_amount_status_card_refund_and_stripe_link(
    world: World, settings
) -> None:
    settings.STRIPE_DASHBOARD_URL = "https://dashboard.stripe.test"
    pr = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-10 13:30", UTC),  # 00:30 on 11 March in Sydney (AEDT)
        first_name="Zoë",
        last_name="Ng",
        description="Initial assessment",
        amount=12050,
        status=PaymentStatus.PARTIALLY_REFUNDED,
        amount_refunded=2000,
        card=("mastercard", "4444"),
    )

    response = client_for(world.clinic_admin).get(_list_url(world))

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    row = page[page.index(pr.reference) - 2000 : page.index(pr.reference) + 200]
    for expected in (
        "11 March 2026, 12:30 AM (Australia/Sydney)",
        "Zoë Ng",
        "Chris Lee",
        "Initial assessment",
        "AUD 120.50",
        "Partially refunded",
        "Mastercard •••• 4444",
        "AUD 20.00",
        f"https://dashboard.stripe.test/{pr.stripe_account_id}/payments/{pr.payment_intent_id}",
    ):
        assert expected in row, expected


def test_a_cancelled_row_says_who_cancelled_as_a_person_would_write_it(world: World) -> None:
    by_clinician = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-10 10:00"),
        status=PaymentStatus.CANCELLED,
    )
    by_account = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-09 10:00"),
        status=PaymentStatus.CANCELLED,
    )
    by_clinician.cancel_reason = "Cancelled by Chris Lee."
    by_clinician.save(update_fields=["cancel_reason"])
    by_account.cancel_reason = "The clinic changed its Stripe account."
    by_account.save(update_fields=["cancel_reason"])

    response = client_for(world.clinic_admin).get(_list_url(world))
    page = html.unescape(response.content.decode())

    assert "<td>Cancelled by Chris Lee</td>" in page
    assert "<td>Cancelled: The clinic changed its Stripe account</td>" in page
    assert "Cancelled (" not in page


def test_the_organisation_list_has_every_clinic_each_in_its_own_time_zone_and_no_other_org(
    world: World,
) -> None:
    world.northside.timezone = "Pacific/Auckland"
    world.northside.currency = "NZD"
    world.northside.save()
    moment = at("2026-03-10 13:30", UTC)
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=moment)
    add_request(
        clinic=world.northside,
        clinician=world.other_clinician,
        created_at=moment,
        first_name="Kiri",
        last_name="Wiremu",
    )
    add_request(
        clinic=world.other_clinic,
        clinician=world.outsider,
        created_at=moment,
        first_name="Elsewhere",
        last_name="Patient",
    )

    response = client_for(world.org_admin).get(
        reverse("payments:org_payments", args=[world.organisation.pk])
    )

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "11 March 2026, 12:30 AM (Australia/Sydney)" in page
    assert "11 March 2026, 2:30 AM (Pacific/Auckland)" in page
    assert "NZD 85.00" in page and "AUD 85.00" in page
    assert "Elsewhere Patient" not in page
    assert {pr.clinic_id for pr in context_entries(response)} == {
        world.harbour.pk,
        world.northside.pk,
    }


def test_date_filters_are_days_in_the_clinics_time_zone_split_at_local_midnight(
    world: World,
) -> None:
    before = add_request(
        clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-10 23:59:59")
    )
    after = add_request(
        clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-11 00:00")
    )
    # In UTC both are on 10 March: 12:59:59 and 13:00.
    assert before.created_at.astimezone(UTC).date() == after.created_at.astimezone(UTC).date()

    assert _refs({"from": "2026-03-10", "to": "2026-03-10"}, world) == [before.reference]
    assert _refs({"from": "2026-03-11", "to": "2026-03-11"}, world) == [after.reference]
    assert _refs({"from": "2026-03-11"}, world) == [after.reference]
    assert _refs({"to": "2026-03-10"}, world) == [before.reference]
    assert _refs({"from": "2026-03-10", "to": "2026-03-11"}, world) == [
        after.reference,
        before.reference,
    ]


def test_status_clinician_and_text_filters_narrow_the_list_and_combine(world: World) -> None:
    start = at("2026-05-04 09:00")
    ava = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=start,
        first_name="Ava",
        last_name="Wilson",
        description="Follow-up session",
    )
    liam = add_request(
        clinic=world.harbour,
        clinician=world.clinic_admin,
        created_at=start + timedelta(hours=1),
        first_name="Liam",
        last_name="Chen",
        description="Initial assessment",
        status=PaymentStatus.REQUESTED,
    )
    mia = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=start + timedelta(hours=2),
        first_name="Mia",
        last_name="Wilson",
        description="Dry needling",
        status=PaymentStatus.REFUNDED,
        amount_refunded=8500,
    )

    assert _refs({"status": "requested"}, world) == [liam.reference]
    assert _refs({"status": "refunded"}, world) == [mia.reference]
    assert _refs({"clinician": str(world.clinician.pk)}, world) == [mia.reference, ava.reference]
    assert _refs({"q": "wilson"}, world) == [mia.reference, ava.reference]  # last name
    assert _refs({"q": "LIAM"}, world) == [liam.reference]  # first name, any case
    assert _refs({"q": "needling"}, world) == [mia.reference]  # description
    assert _refs({"q": "follow wilson"}, world) == [ava.reference]  # every word must match
    assert _refs({"q": ava.reference.lower()}, world) == [ava.reference]  # the reference
    assert _refs({"q": "wilson", "status": "paid"}, world) == [ava.reference]
    assert _refs({"q": "nobody"}, world) == []
    # A clinician's own view: only what they asked for, whatever the clinician filter says.
    assert (
        _refs(
            {"clinician": str(world.clinic_admin.pk)}, world, only_requested_by=world.clinician.pk
        )
        == []
    )


def test_a_clinician_sees_only_the_requests_they_made(world: World) -> None:
    mine = add_request(
        clinic=world.harbour, clinician=world.clinician, created_at=at("2026-05-04 09:00")
    )
    theirs = add_request(
        clinic=world.harbour, clinician=world.clinic_admin, created_at=at("2026-05-04 10:00")
    )

    as_clinician = client_for(world.clinician).get(_list_url(world))
    as_admin = client_for(world.clinic_admin).get(_list_url(world))

    assert [pr.pk for pr in context_entries(as_clinician)] == [mine.pk]
    assert "You see the payments you requested." in as_clinician.content.decode()
    assert [pr.pk for pr in context_entries(as_admin)] == [theirs.pk, mine.pk]


def test_newest_first_in_pages_of_50(world: World) -> None:
    start = at("2026-01-05 09:00")
    made = [
        add_request(
            clinic=world.harbour, clinician=world.clinician, created_at=start + timedelta(hours=i)
        )
        for i in range(53)
    ]
    newest_first = [pr.pk for pr in reversed(made)]
    client = client_for(world.clinic_admin)

    first = client.get(_list_url(world))
    second = client.get(_list_url(world), {"page": "2"})

    assert [pr.pk for pr in context_entries(first)] == newest_first[:50]
    assert [pr.pk for pr in context_entries(second)] == newest_first[50:]
    assert "Page 1 of 2" in first.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-03-11", "to": "2026-03-01"}, "The start date is after the end date."),
        ({"from": "1900-01-01"}, "The start date is out of range."),
        ({"to": "9999-12-31"}, "The end date is out of range."),
        ({"from": "2026-02-30"}, "The start date must be a date like 2026-11-25."),
        ({"to": "yesterday"}, "The end date must be a date like 2026-11-25."),
        ({"sort": "amount", "limit": "5"}, "Unknown filters: limit, sort."),
        ({"status": "paid_twice"}, "Unknown status paid_twice."),
        ({"clinician": "chris"}, "Unknown clinician."),
    ],
    ids=[
        "reversed",
        "before-2020",
        "far-future",
        "no-such-day",
        "not-a-date",
        "unknown-filters",
        "unknown-status",
        "clinician-not-an-id",
    ],
)
def test_bad_filters_get_400_with_a_message_and_list_nothing(
    world: World, params: dict[str, str], message: str
) -> None:
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-05 09:00"))

    response = client_for(world.clinic_admin).get(_list_url(world), params)

    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert context_entries(response) == []


def test_a_range_longer_than_five_years_is_refused_but_five_years_is_fine(world: World) -> None:
    end = date.today()
    ok = filters_parse(
        {"from": (end - timedelta(days=366 * 5)).isoformat(), "to": end.isoformat()},
        clinics=[world.harbour],
    )
    too_long = filters_parse(
        {"from": (end - timedelta(days=366 * 5 + 1)).isoformat(), "to": end.isoformat()},
        clinics=[world.harbour],
    )
    assert ok.errors == []
    assert too_long.errors == ["Choose a period of at most five years."]


def test_an_overlong_search_is_cut_to_100_characters_not_refused(world: World) -> None:
    result = filters_parse({"q": "  a   " + "b" * 300}, clinics=[world.harbour])
    assert result.errors == []
    assert result.filters.q == ("a " + "b" * 300)[:100]


def test_markup_in_a_description_or_name_is_shown_as_text(world: World) -> None:
    pr = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-10 10:00"),
        description='<img src=x onerror="alert(1)">',
        first_name="<b>Bold</b>",
    )
    client = client_for(world.clinic_admin)

    for url in (
        _list_url(world),
        reverse("payments:payment_detail", args=[pr.clinic_id, pr.pk]),
    ):
        page = client.get(url).content.decode()
        assert "<img src=x" not in page and "<b>Bold</b>" not in page
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
