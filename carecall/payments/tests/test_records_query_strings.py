"""Hostile query strings on the payments list, its CSV export and the report (clinic's and
organisation's): every filter (from, to, status, clinician, clinic, q, page) given a number too
big for the database, a negative one, words, a NUL, or thousands of characters answers 400 with
the reason (the pages' own pattern; the CSV says it as text, with no file) and lists nothing:
never a 500, never a query the database cannot run. The search text alone is free text: words
and numbers are searched for, an overlong one is cut (not refused), a NUL is refused."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from carecall.payments.reports import LARGEST_ID, filters_parse
from carecall.payments.tests.test_records_support import add_request, at, context_entries
from testsupport.world import World, client_for

pytestmark = pytest.mark.django_db

PAGES = {
    "clinic list": ("payments:clinic_payments", "clinic_admin"),
    "clinic csv": ("payments:clinic_payments_csv", "clinic_admin"),
    "clinic report": ("payments:clinic_report", "clinic_admin"),
    "org list": ("payments:org_payments", "org_admin"),
    "org csv": ("payments:org_payments_csv", "org_admin"),
    "org report": ("payments:org_report", "org_admin"),
}

BAD_VALUES = {
    "beyond 64 bits": "9" * 30,
    "beyond int()'s 4,300 digits": "9" * 5000,
    "negative": "-1",
    "zero": "0",
    "words": "chris",
    "NUL": "1\x00",
    "overlong": "x" * 5000,
    "decimal": "1.5",
    "other script's digits": "١٢",  # int() would take these
}

DATE_REASON = {"from": "The start date must be a date", "to": "The end date must be a date"}
REASONS = {
    **DATE_REASON,
    "status": "Unknown status",
    "clinician": "Unknown clinician.",
    "clinic": "Unknown clinic.",
    "page": "The page must be a whole number from 1.",
}


def _url(world: World, page: str) -> str:
    name, _persona = PAGES[page]
    arg = world.harbour.pk if name.startswith("payments:clinic") else world.organisation.pk
    return reverse(name, args=[arg])


def _get(world: World, page: str, params: dict[str, str]):
    _name, persona = PAGES[page]
    return client_for(getattr(world, persona)).get(_url(world, page), params)


def _assert_refused(response, reason: str, page: str) -> None:
    assert response.status_code == 400, response.content[:500]
    body = html.unescape(response.content.decode())
    assert reason in body
    if "csv" in page:
        assert "Content-Disposition" not in response
        assert response["Content-Type"].startswith("text/plain")
    elif "list" in page:
        assert context_entries(response) == []
    else:
        assert response.context["report"] is None


@pytest.mark.parametrize("value_kind", list(BAD_VALUES))
@pytest.mark.parametrize("name", list(REASONS))
@pytest.mark.parametrize("page", list(PAGES))
def test_a_bad_filter_value_is_answered_400_with_its_reason_on_every_page(
    world: World, page: str, name: str, value_kind: str
) -> None:
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-05 09:00"))

    response = _get(world, page, {name: BAD_VALUES[value_kind]})

    _assert_refused(response, REASONS[name], page)


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("value", [str(LARGEST_ID + 1), "9" * 5000])
def test_a_clinician_id_the_database_cannot_hold_is_refused_not_a_500(
    world: World, page: str, value: str
) -> None:
    _assert_refused(_get(world, page, {"clinician": value}), "Unknown clinician.", page)


@pytest.mark.parametrize("page", list(PAGES))
def test_the_largest_id_the_database_holds_is_a_clinician_with_no_payments(
    world: World, page: str
) -> None:
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-05 09:00"))

    response = _get(world, page, {"clinician": str(LARGEST_ID)})

    assert response.status_code == 200
    if "list" in page:
        assert context_entries(response) == []


@pytest.mark.parametrize("page", list(PAGES))
def test_a_nul_in_the_search_is_refused_before_any_query(world: World, page: str) -> None:
    response = _get(world, page, {"q": "Pat\x00Jones"})
    _assert_refused(response, "Remove the control characters", page)


@pytest.mark.parametrize("page", [p for p in PAGES if "report" not in p])
@pytest.mark.parametrize("value", ["9" * 30, "-1", "chris", "x" * 5000])
def test_numbers_words_and_overlong_text_are_searched_for_not_refused(
    world: World, page: str, value: str
) -> None:
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-05 09:00"))

    response = _get(world, page, {"q": value})

    assert response.status_code == 200
    if "list" in page:
        assert context_entries(response) == []


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("key", ["\x00", "x" * 5000, "clinician\x00"])
def test_an_unknown_filter_name_is_refused_and_said_back_safely(
    world: World, page: str, key: str
) -> None:
    response = _get(world, page, {key: "1"})

    _assert_refused(response, "Unknown filters:", page)
    body = response.content.decode()
    assert "\x00" not in body
    assert "x" * 41 not in body  # said back cut short, not 5,000 characters


def test_an_unknown_status_is_said_back_without_its_control_characters_and_cut_short(
    world: World,
) -> None:
    result = filters_parse({"status": "paid\x00" + "y" * 500}, clinics=[world.harbour])
    (message,) = result.errors
    assert message.startswith("Unknown status paid\ufffdyyy")
    assert "\x00" not in message and len(message) < 80


def test_another_clinics_id_is_an_unknown_clinic_on_the_organisation_pages(world: World) -> None:
    response = _get(world, "org list", {"clinic": str(world.other_clinic.pk)})
    _assert_refused(response, "Unknown clinic.", "org list")


def test_a_page_beyond_the_last_shows_the_last_page(world: World) -> None:
    add_request(clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-05 09:00"))
    response = _get(world, "clinic list", {"page": "999999"})
    assert response.status_code == 200
    assert len(context_entries(response)) == 1


def test_good_filters_still_work_together(world: World) -> None:
    pr = add_request(
        clinic=world.harbour, clinician=world.clinician, created_at=at("2026-03-05 09:00")
    )
    response = _get(
        world,
        "org list",
        {
            "from": "2026-03-01",
            "to": "2026-03-31",
            "status": "paid",
            "clinician": str(world.clinician.pk),
            "clinic": str(world.harbour.pk),
            "q": "  pat   jones ",
            "page": "1",
        },
    )
    assert response.status_code == 200
    assert [e.pk for e in context_entries(response)] == [pr.pk]
