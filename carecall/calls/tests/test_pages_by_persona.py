"""Call pages: the patient's entry and visit links, guest links, and staff pages by persona."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from carecall.calls import services
from carecall.calls.models import Participant, ParticipantKind, Visit, VisitStatus
from carecall.calls.waiting_area import OpeningHours, WaitingAreaSettings
from testsupport.world import PERSONAS, World, client_for

SIGN_IN = "SIGN_IN"
# org_admin, clinic_admin, clinician, other_clinician, outsider, operator, anonymous
CLINIC_MEMBERS = [200, 200, 200, 403, 404, 404, SIGN_IN]
CLINIC_MANAGERS = [200, 200, 403, 403, 404, 404, SIGN_IN]


def _enter(world: World, first: str = "Pat", last: str = "Jones") -> tuple[Visit, str]:
    return services.visit_create(
        clinic=world.harbour, first_name=first, last_name=last, phone="", accepted_terms=True
    )


def _assert_status(response, expected: object) -> None:
    if expected == SIGN_IN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:sign_in"))
    else:
        assert response.status_code == expected


@pytest.mark.parametrize(("persona", "expected"), list(zip(PERSONAS, CLINIC_MEMBERS, strict=True)))
def test_waiting_area_page_is_for_the_clinics_members(
    world: World, persona: str, expected: object
) -> None:
    response = client_for(world.persona(persona)).get(
        reverse("calls:waiting_area", args=[world.harbour.pk])
    )
    _assert_status(response, expected)
    if expected == 200:
        assert "/c/harbour-gp/" in response.content.decode()


@pytest.mark.parametrize(("persona", "expected"), list(zip(PERSONAS, CLINIC_MANAGERS, strict=True)))
def test_waiting_area_settings_are_for_the_clinics_managers(
    world: World, persona: str, expected: object
) -> None:
    url = reverse("calls:waiting_area_settings", args=[world.harbour.pk])
    _assert_status(client_for(world.persona(persona)).get(url), expected)
    client_for(world.persona(persona)).post(
        url, {"message": "Changed", "terms": "T", "is_on": "on", "require_first_name": "on"}
    )
    world.harbour.refresh_from_db()
    changed = WaitingAreaSettings.for_clinic(world.harbour).message == "Changed"
    assert changed == (expected == 200)


@pytest.mark.parametrize(("persona", "expected"), list(zip(PERSONAS, CLINIC_MEMBERS, strict=True)))
def test_joining_a_caller_is_for_the_clinics_members(
    world: World, persona: str, expected: object
) -> None:
    visit, _token = _enter(world)
    url = reverse("calls:join", args=[world.harbour.pk, visit.pk])
    response = client_for(world.persona(persona)).post(url)
    visit.refresh_from_db()
    if expected == 200:
        assert response.status_code == 302
        assert response["Location"] == reverse("calls:call", args=[world.harbour.pk, visit.pk])
        assert visit.status == VisitStatus.IN_CALL
        call = client_for(world.persona(persona)).get(response["Location"])
        assert call.status_code == 200
        assert "Apps and tools" in call.content.decode()
    else:
        _assert_status(response, expected)
        assert visit.status == VisitStatus.WAITING


def test_call_page_without_joining_sends_the_clinician_back_to_the_waiting_area(
    world: World,
) -> None:
    visit, _ = _enter(world)
    response = client_for(world.clinician).get(
        reverse("calls:call", args=[world.harbour.pk, visit.pk])
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("calls:waiting_area", args=[world.harbour.pk])


def test_a_visit_of_one_clinic_is_not_reachable_under_another_clinics_url(world: World) -> None:
    visit, _ = _enter(world)
    url = reverse("calls:join", args=[world.northside.pk, visit.pk])
    assert client_for(world.org_admin).post(url).status_code == 404
    visit.refresh_from_db()
    assert visit.status == VisitStatus.WAITING


def test_patient_enters_with_details_and_lands_on_their_visit_link(world: World) -> None:
    client = Client()
    page = client.get(reverse("calls:entry", args=["harbour-gp"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Check your camera and microphone" in html and "I accept the clinic" in html
    response = client.post(
        reverse("calls:entry", args=["harbour-gp"]),
        {"first_name": "Pat", "last_name": "Jones", "phone": "", "accept_terms": "on"},
    )
    assert response.status_code == 302
    token = re.fullmatch(r"/v/([^/]+)/", response["Location"]).group(1)  # type: ignore[union-attr]
    assert len(token) >= 43  # 256 random bits, URL-safe base64
    visit = Visit.objects.get()
    assert (visit.first_name, visit.last_name, visit.status) == (
        "Pat",
        "Jones",
        VisitStatus.WAITING,
    )
    assert visit.token_hash != token
    own = Client().get(response["Location"])
    assert own.status_code == 200
    assert "You are in the waiting area" in own.content.decode()


def test_entry_refuses_missing_required_fields_and_terms_with_messages(world: World) -> None:
    response = Client().post(
        reverse("calls:entry", args=["harbour-gp"]), {"first_name": "", "last_name": ""}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert not Visit.objects.exists()
    response = Client().post(
        reverse("calls:entry", args=["harbour-gp"]), {"first_name": "Pat", "last_name": "Jones"}
    )
    assert "Accept the clinic&#x27;s terms to continue." in response.content.decode()
    assert not Visit.objects.exists()


def test_clinic_admin_chooses_which_entry_fields_are_required(world: World) -> None:
    world.harbour.waiting_area = WaitingAreaSettings(
        require_first_name=True, require_last_name=False, require_phone=True
    ).to_json()
    world.harbour.save()
    page = Client().get(reverse("calls:entry", args=["harbour-gp"])).content.decode()
    assert "Last name (optional)" in page
    response = Client().post(
        reverse("calls:entry", args=["harbour-gp"]), {"first_name": "Pat", "accept_terms": "on"}
    )
    assert response.status_code == 400 and not Visit.objects.exists()
    response = Client().post(
        reverse("calls:entry", args=["harbour-gp"]),
        {"first_name": "Pat", "phone": "0400 000 000", "accept_terms": "on"},
    )
    assert response.status_code == 302
    assert Visit.objects.get().phone == "0400 000 000"


def test_a_switched_off_waiting_area_says_so_and_admits_nobody(world: World) -> None:
    world.harbour.waiting_area = WaitingAreaSettings(is_on=False).to_json()
    world.harbour.save()
    page = Client().get(reverse("calls:entry", args=["harbour-gp"]))
    assert "waiting area is closed" in page.content.decode()
    Client().post(
        reverse("calls:entry", args=["harbour-gp"]),
        {"first_name": "Pat", "last_name": "Jones", "accept_terms": "on"},
    )
    assert not Visit.objects.exists()


def test_opening_hours_are_in_the_clinics_time_zone(world: World) -> None:
    area = WaitingAreaSettings(hours=(OpeningHours(weekday=0, opens="09:00", closes="17:00"),))
    sydney = ZoneInfo("Australia/Sydney")
    world.harbour.timezone = "Australia/Sydney"
    # Monday 2026-11-23 08:59 and 09:00 in Sydney (22:00 UTC on Sunday is 09:00 Monday AEDT).
    assert not area.is_open(world.harbour, datetime(2026, 11, 23, 8, 59, tzinfo=sydney))
    assert area.is_open(world.harbour, datetime(2026, 11, 23, 9, 0, tzinfo=sydney))
    assert area.is_open(world.harbour, datetime(2026, 11, 22, 22, 0, tzinfo=ZoneInfo("UTC")))
    assert not area.is_open(world.harbour, datetime(2026, 11, 23, 17, 0, tzinfo=sydney))
    assert not area.is_open(world.harbour, datetime(2026, 11, 24, 10, 0, tzinfo=sydney))  # Tuesday
    world.harbour.timezone = "Australia/Perth"
    assert not area.is_open(
        world.harbour, datetime(2026, 11, 23, 9, 0, tzinfo=sydney)
    )  # 06:00 Perth


def test_waiting_area_settings_refuse_bad_opening_hours_and_change_nothing(world: World) -> None:
    url = reverse("calls:waiting_area_settings", args=[world.harbour.pk])
    base = {"message": "Hello", "terms": "Terms", "is_on": "on"}
    for bad, message in [
        ({"opens_0": "9am", "closes_0": "17:00"}, "Write opening hours as HH:MM"),
        ({"opens_0": "17:00", "closes_0": "09:00"}, "must close after they open"),
        ({"opens_0": "09:00"}, "Give both times for Monday, or neither."),
    ]:
        response = client_for(world.clinic_admin).post(url, {**base, **bad})
        assert response.status_code == 400
        assert message in response.content.decode()
    world.harbour.refresh_from_db()
    assert world.harbour.waiting_area == {}
    ok = client_for(world.clinic_admin).post(url, {**base, "opens_0": "09:00", "closes_0": "17:00"})
    assert ok.status_code == 302
    world.harbour.refresh_from_db()
    saved = WaitingAreaSettings.for_clinic(world.harbour)
    assert saved.hours == (OpeningHours(weekday=0, opens="09:00", closes="17:00"),)
    assert saved.message == "Hello"


def test_a_patient_link_opens_only_its_own_visit(world: World) -> None:
    _mine, my_token = _enter(world, "Pat", "Jones")
    _theirs, their_token = _enter(world, "Sam", "Other")
    page = Client().get(reverse("calls:visit", args=[my_token])).content.decode()
    assert reverse("ws-patient", urlconf="config.routing", args=[my_token]) in page
    assert their_token not in page
    assert Client().get(reverse("calls:visit", args=["x" * 43])).status_code == 404


def test_leaving_steps_out_and_the_same_link_offers_to_rejoin(world: World) -> None:
    visit, token = _enter(world)
    response = Client().post(reverse("calls:visit_leave", args=[token]))
    assert response.status_code == 302 and response["Location"] == f"/v/{token}/"
    visit.refresh_from_db()
    assert visit.status == VisitStatus.WAITING and visit.ended_at is None
    page = Client().get(reverse("calls:visit", args=[token]))
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r"data-call[^>]* data-left[\s>]", html) and "Rejoin the call" in html


def test_a_patient_who_never_left_is_not_shown_the_rejoin_screen(world: World) -> None:
    _visit, token = _enter(world)
    html = Client().get(reverse("calls:visit", args=[token])).content.decode()
    assert not re.search(r"data-call[^>]* data-left[\s>]", html)


def test_a_guest_link_works_once_for_the_browser_that_claims_it(world: World) -> None:
    visit, _ = _enter(world)
    services.visit_join(actor=world.clinician, visit=visit)
    _guest, url = services.guest_invite_create(
        actor=world.clinician, visit=visit, base_url="http://testserver"
    )
    path = url.removeprefix("http://testserver")
    carer = Client()
    assert "Your name" in carer.get(path).content.decode()
    assert carer.post(path, {"display_name": "Carol Carer"}).status_code == 302
    assert (
        reverse("ws-guest", urlconf="config.routing", args=[path.split("/")[2]])
        in carer.get(path).content.decode()
    )
    guest = Participant.objects.get(kind=ParticipantKind.GUEST)
    assert guest.display_name == "Carol Carer" and guest.claimed_at is not None
    # Anyone else holding the link gets nothing.
    assert Client().get(path).status_code == 404
    assert Client().post(path, {"display_name": "Mallory"}).status_code == 404
    guest.refresh_from_db()
    assert guest.display_name == "Carol Carer"


def test_only_a_clinician_in_the_call_can_invite_a_guest(world: World) -> None:
    visit, _ = _enter(world)
    from carecall.core.errors import ServiceError

    with pytest.raises(ServiceError, match="Join the call first"):
        services.guest_invite_create(
            actor=world.clinician, visit=visit, base_url="http://testserver"
        )
    assert not Participant.objects.filter(kind=ParticipantKind.GUEST).exists()


def test_an_unknown_clinic_link_is_404(world: World) -> None:
    assert Client().get("/c/no-such-clinic/").status_code == 404
