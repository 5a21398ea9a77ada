"""The report (/clinics/<id>/payments/report/, /orgs/<id>/payments/report/): taken, refunded, net,
count and average per currency (never added across currencies), by clinician and by day (days
in the clinic's time zone, counted on the day paid), and the daily chart drawn as SVG."""

from __future__ import annotations

import html
import re
import zoneinfo
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.reports import CurrencyTotals, Report, filters_parse, report_build
from carecall.payments.tests.test_records_support import add_request, at, response_body
from testsupport.world import World, client_for


def _report(world: World, params: dict[str, str] | None = None, *, org: bool = False) -> Report:
    clinics = [world.harbour, world.northside] if org else [world.harbour]
    result = filters_parse(params or {}, clinics=clinics)
    assert result.errors == []
    return report_build(result.filters)


def _totals(report: Report) -> dict[str, tuple[int, int, int, int, int]]:
    return {t.currency: (t.taken, t.refunded, t.net, t.count, t.average) for t in report.totals}


def _harbour_week(world: World) -> None:
    """Three paid (one partly and one fully refunded), one unpaid, one cancelled."""
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-09 10:00"))
    add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-10 11:00"),
        amount=12050,
        status=PaymentStatus.PARTIALLY_REFUNDED,
        amount_refunded=2000,
    )
    add_request(
        clinic=world.harbour,
        clinician=world.clinic_admin,
        created_at=at("2026-03-10 15:00"),
        amount=3000,
        status=PaymentStatus.REFUNDED,
        amount_refunded=3000,
    )
    add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-10 16:00"),
        amount=99900,
        status=PaymentStatus.REQUESTED,
    )
    add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-11 09:00"),
        amount=77700,
        status=PaymentStatus.CANCELLED,
    )


def test_totals_count_paid_requests_with_refunds_subtracted_and_ignore_unpaid_ones(
    world: World,
) -> None:
    _harbour_week(world)

    report = _report(world)

    # taken 85.00 + 120.50 + 30.00; refunded 20.00 + 30.00; average of the three taken.
    assert _totals(report) == {"AUD": (23550, 5000, 18550, 3, 7850)}
    (totals,) = report.totals
    assert (
        totals.taken_display,
        totals.refunded_display,
        totals.net_display,
        totals.average_display,
    ) == ("AUD 235.50", "AUD 50.00", "AUD 185.50", "AUD 78.50")


def test_the_report_page_shows_the_totals_by_clinician_and_by_day(world: World) -> None:
    _harbour_week(world)

    response = client_for(world.clinic_admin).get(
        reverse("payments:clinic_report", args=[world.harbour.pk]),
        {"from": "2026-03-01", "to": "2026-03-31"},
    )

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    cells = dict(re.findall(r'<td data-col="(\w+)">([^<]*)</td>', page))
    assert cells == {
        "taken": "AUD 235.50",
        "refunded": "AUD 50.00",
        "net": "AUD 185.50",
        "count": "3",
        "average": "AUD 78.50",
    }
    clinicians = re.findall(
        r'<tr><th scope="row">([^<]+)</th><td>(\w{3})</td><td>(\d+)</td>'
        r"<td>([^<]+)</td><td>([^<]+)</td></tr>",
        page,
    )
    assert clinicians == [
        ("Chris Lee", "AUD", "2", "AUD 205.50", "AUD 185.50"),
        ("Hannah Brooks", "AUD", "1", "AUD 30.00", "AUD 0.00"),
    ]
    days = re.findall(r'<time datetime="([\d-]+)">', page)
    assert days == ["2026-03-09", "2026-03-10"]


def test_each_currency_has_its_own_totals_across_the_clinics_of_an_organisation(
    world: World,
) -> None:
    world.northside.currency = "JPY"
    world.northside.save()
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-10 10:00"))
    add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-10 11:00"),
        amount=5000,
        status=PaymentStatus.PARTIALLY_REFUNDED,
        amount_refunded=1000,
    )
    add_request(
        clinic=world.northside,
        clinician=world.other_clinician,
        created_at=at("2026-03-10 12:00"),
        amount=5000,  # JPY has no minor unit: ¥5,000
    )
    add_request(
        clinic=world.other_clinic,
        clinician=world.outsider,
        created_at=at("2026-03-10 12:00"),
        amount=1_000_000,
    )

    org = _report(world, org=True)
    harbour_only = _report(world)

    assert _totals(org) == {
        "AUD": (13500, 1000, 12500, 2, 6750),
        "JPY": (5000, 0, 5000, 1, 5000),
    }
    assert [t.taken_display for t in org.totals] == ["AUD 135.00", "JPY 5,000"]
    assert _totals(harbour_only) == {"AUD": (13500, 1000, 12500, 2, 6750)}
    assert {(r.name, r.currency, r.taken) for r in org.by_clinician} == {
        ("Chris Lee", "AUD", 13500),
        ("Nina Patel", "JPY", 5000),
    }
    assert [(d.day, d.currency, d.taken) for d in org.by_day] == [
        (date(2026, 3, 10), "AUD", 13500),
        (date(2026, 3, 10), "JPY", 5000),
    ]
    assert [c.currency for c in org.charts] == ["AUD", "JPY"]

    page = html.unescape(
        client_for(world.org_admin)
        .get(
            reverse("payments:org_report", args=[world.organisation.pk]),
            {"from": "2026-03-01", "to": "2026-03-31"},
        )
        .content.decode()
    )
    assert '<tr data-currency="AUD">' in page and '<tr data-currency="JPY">' in page
    assert "AUD 185.00" not in page  # 135 + 50 (the yen read as dollars) never appears
    assert "Daily takings (AUD)" in page and "Daily takings (JPY)" in page


def test_one_clinic_that_changed_currency_keeps_the_two_currencies_apart(world: World) -> None:
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-02 10:00"))
    world.harbour.currency = "NZD"
    world.harbour.save()
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-03 10:00"))

    assert _totals(_report(world)) == {
        "AUD": (8500, 0, 8500, 1, 8500),
        "NZD": (8500, 0, 8500, 1, 8500),
    }


def test_days_split_at_midnight_in_the_clinics_time_zone_on_the_day_paid(world: World) -> None:
    late = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-10 23:50"),
        paid_at=at("2026-03-10 23:59:59"),  # 12:59:59 UTC
    )
    early = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-10 23:55"),  # requested on the 10th …
        paid_at=at("2026-03-11 00:00"),  # … paid on the 11th: 13:00 UTC, still the 10th in UTC
        amount=4000,
    )
    assert late.paid_at and early.paid_at

    whole = _report(world)
    eleventh = _report(world, {"from": "2026-03-11", "to": "2026-03-11"})
    tenth = _report(world, {"from": "2026-03-10", "to": "2026-03-10"})

    assert [(d.day, d.count, d.taken) for d in whole.by_day] == [
        (date(2026, 3, 10), 1, 8500),
        (date(2026, 3, 11), 1, 4000),
    ]
    assert _totals(eleventh) == {"AUD": (4000, 0, 4000, 1, 4000)}
    assert _totals(tenth) == {"AUD": (8500, 0, 8500, 1, 8500)}


def test_the_daily_chart_is_svg_drawn_on_the_server_one_bar_per_day_of_the_period(
    world: World,
) -> None:
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-02 10:00"))
    add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-04 10:00"),
        amount=17000,
    )

    response = client_for(world.clinic_admin).get(
        reverse("payments:clinic_report", args=[world.harbour.pk]),
        {"from": "2026-03-01", "to": "2026-03-07"},
    )

    page = html.unescape(response.content.decode())
    (svg,) = re.findall(r'<svg class="chart".*?</svg>', page, flags=re.S)
    bars = re.findall(
        r'<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" class="bar">'
        r"<title>([^<]+)</title></rect>",
        svg,
    )
    assert [title for _y, _h, title in bars] == [
        "2026-03-01: AUD 0.00",
        "2026-03-02: AUD 85.00",
        "2026-03-03: AUD 0.00",
        "2026-03-04: AUD 170.00",
        "2026-03-05: AUD 0.00",
        "2026-03-06: AUD 0.00",
        "2026-03-07: AUD 0.00",
    ]
    heights = [float(h) for _y, h, _t in bars]
    assert heights[3] == 180.0  # the tallest day fills the plot (220 high, 40 for the labels)
    assert heights[1] == 90.0  # half the takings, half the height
    assert heights[0] == heights[2] == 0.0
    assert "the tallest is AUD 170.00" in svg
    assert "<script" not in svg
    # Axes people can read: a title, the value axis (0, half, top), the first and last day,
    # and each day's takings above its bar (7 wide bars have room).
    assert "<title id=" in svg and "Daily takings in AUD" in svg
    ticks = re.findall(r'<text[^>]*class="tick"[^>]*>([^<]+)</text>', svg)
    assert ticks == ["AUD 0.00", "AUD 85.00", "AUD 170.00", "1 Mar 2026", "7 Mar 2026"]
    assert "from 1 March 2026 to 7 March 2026" in svg  # the <desc>, in words
    assert re.findall(r'class="value">([^<]+)</text>', svg) == ["85.00", "170.00"]


def test_a_month_of_narrow_bars_still_carries_each_days_value_written_upwards(
    world: World,
) -> None:
    """30 bars are too narrow for a value written across: it is written upwards, inside a bar
    tall enough to hold it (white on the bar) and above a short one."""
    add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-04 10:00"),
        amount=100000,
    )
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-20 10:00"))

    response = client_for(world.clinic_admin).get(
        reverse("payments:clinic_report", args=[world.harbour.pk]),
        {"from": "2026-03-01", "to": "2026-03-30"},
    )

    (svg,) = re.findall(r'<svg class="chart".*?</svg>', response.content.decode(), flags=re.S)
    assert svg.count('class="bar"') == 30
    values = re.findall(
        r'<text x="[\d.]+" y="[\d.]+" transform="rotate\(-90 [\d.]+ [\d.]+\)" '
        r'text-anchor="(end|start)" dominant-baseline="middle" class="([^"]+)">([^<]+)</text>',
        svg,
    )
    assert values == [("end", "value inside", "1000.00"), ("start", "value", "85.00")]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-03-07", "to": "2026-03-01"}, "The start date is after the end date."),
        ({"from": "0001-01-01"}, "The start date is out of range."),
        ({"currency": "AUD"}, "Unknown filters: currency."),
    ],
    ids=["reversed", "absurd", "unknown"],
)
def test_bad_report_filters_get_400_and_a_message_instead_of_numbers(
    world: World, params: dict[str, str], message: str
) -> None:
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-02 10:00"))

    response = client_for(world.clinic_admin).get(
        reverse("payments:clinic_report", args=[world.harbour.pk]), params
    )

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert message in page
    assert response.context["report"] is None
    assert "Totals" not in page


def test_an_empty_period_says_so_and_draws_no_chart(world: World) -> None:
    response = client_for(world.clinic_admin).get(
        reverse("payments:clinic_report", args=[world.harbour.pk])
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "No payments in this period." in page
    assert "<svg" not in page


def test_average_rounds_to_the_nearest_minor_unit() -> None:
    assert CurrencyTotals(currency="AUD", taken=1000, refunded=0, count=3).average == 333
    assert CurrencyTotals(currency="AUD", taken=2000, refunded=0, count=3).average == 667
    assert CurrencyTotals(currency="AUD", taken=0, refunded=0, count=0).average == 0


def test_without_a_chosen_period_the_report_covers_the_last_30_days(world: World) -> None:
    """March's payments are outside the default period; today's is inside it."""
    _harbour_week(world)
    add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=timezone.now(),
        amount=4200,
        status=PaymentStatus.PAID,
        paid_at=timezone.now(),
    )
    response = client_for(world.clinic_admin).get(
        reverse("payments:clinic_report", args=[world.harbour.pk])
    )
    page = html.unescape(response.content.decode())
    cells = dict(re.findall(r'<td data-col="(\w+)">([^<]*)</td>', page))
    assert cells["taken"] == "AUD 42.00" and cells["count"] == "1"
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(world.harbour.timezone))
    assert f'value="{(today - timedelta(days=29)).isoformat()}"' in page


def test_the_report_says_which_filters_apply_and_when_refunds_count(world: World) -> None:
    _harbour_week(world)
    url = reverse("payments:clinic_report", args=[world.harbour.pk])
    period = {"from": "2026-03-01", "to": "2026-03-31"}
    admin = client_for(world.clinic_admin)

    plain = html.unescape(admin.get(url, period).content.decode())
    assert "status and text search apply to the payments list only" in plain
    assert "Refunds count on the day of the payment they belong to" in plain
    assert "report-filters-not-applied" not in plain

    # status and q from a list link: not silently dropped, and not applied either.
    response = admin.get(url, {**period, "status": "cancelled", "q": "nobody-matches-this"})
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "Not applied to reports: status, text search." in page
    cells = dict(re.findall(r'<td data-col="(\w+)">([^<]*)</td>', page))
    assert cells["taken"] == "AUD 235.50" and cells["count"] == "3"  # as without them

    only_status = html.unescape(admin.get(url, {**period, "status": "paid"}).content.decode())
    assert "Not applied to reports: status." in only_status


def test_a_refund_made_later_counts_on_the_day_of_its_payment(world: World) -> None:
    """Paid on 10 March, refunded on 20 March: the refund lowers 10 March's net, and a
    report of 20 March alone shows nothing."""
    pr = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-10 10:00"),
        paid_at=at("2026-03-10 10:05"),
    )
    PaymentRequest.objects.filter(pk=pr.pk).update(
        amount_refunded=2500, status=PaymentStatus.PARTIALLY_REFUNDED
    )

    assert _totals(_report(world, {"from": "2026-03-10", "to": "2026-03-10"})) == {
        "AUD": (8500, 2500, 6000, 1, 8500)
    }
    assert _report(world, {"from": "2026-03-20", "to": "2026-03-20"}).totals == []


def test_the_organisation_report_has_a_clinic_filter_and_a_table_per_clinic(world: World) -> None:
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-02 10:00"))
    add_request(
        clinic=world.northside,
        clinician=world.clinician,
        created_at=at("2026-03-03 10:00"),
        amount=4000,
    )
    url = reverse("payments:org_report", args=[world.harbour.organisation_id])
    period = {"from": "2026-03-01", "to": "2026-03-07"}
    client = client_for(world.org_admin)

    page = html.unescape(client.get(url, period).content.decode())
    assert '<select id="f-clinic" name="clinic">' in page
    rows = dict(
        re.findall(
            r'<tr data-clinic="([^"]+)"><th scope="row">[^<]+</th><td>AUD</td>'
            r"<td>\d+</td><td>([^<]+)</td>",
            page,
        )
    )
    assert rows == {"Harbour GP": "AUD 85.00", "Northside Physio": "AUD 40.00"}

    only = html.unescape(
        client.get(url, {**period, "clinic": str(world.northside.pk)}).content.decode()
    )
    assert re.findall(r'<tr data-clinic="([^"]+)"', only) == ["Northside Physio"]
    assert f'<option value="{world.northside.pk}" selected>' in only
    assert client.get(url, {**period, "clinic": "99999999"}).status_code == 400


@pytest.mark.parametrize("name", ["payments:org_report", "payments:org_payments"])
def test_an_organisation_without_clinics_gets_an_empty_state_not_an_error(
    world: World, name: str
) -> None:
    """The outsider is org admin of Elsewhere Medical; its one clinic is removed first."""
    world.other_clinic.delete()
    organisation = world.other_organisation
    assert not organisation.clinics.exists()

    response = client_for(world.outsider).get(reverse(name, args=[organisation.pk]))

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "Elsewhere Medical has no clinics yet, so there are no payments to show." in page
    assert reverse("orgs:clinic_create", args=[organisation.pk]) in page
    assert "Totals" not in page and "Apply filters" not in page


def test_an_organisation_without_clinics_exports_a_csv_with_only_the_header(
    world: World,
) -> None:
    world.other_clinic.delete()

    response = client_for(world.outsider).get(
        reverse("payments:org_payments_csv", args=[world.other_organisation.pk])
    )

    assert response.status_code == 200
    assert response_body(response).decode("utf-8").count("\r\n") == 1


def test_an_organisation_whose_clinics_are_in_several_zones_reports_days_in_the_platforms(
    world: World, settings
) -> None:
    world.northside.timezone = "Australia/Perth"
    world.northside.save()

    response = client_for(world.org_admin).get(
        reverse("payments:org_report", args=[world.organisation.pk])
    )

    assert response.status_code == 200
    assert response.context["f"].timezone == settings.TIME_ZONE
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(settings.TIME_ZONE))
    assert response.context["f"].date_to == today
