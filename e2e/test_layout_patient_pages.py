"""The pages around the call, at every screen size people use them on (360×640, 390×844 and
768×1024 touch screens; 1280×800 and 1920×1080 desktops): the sign-in page, the clinic's entry
page with its device check (also with its errors), a closed waiting area, a guest's join page,
the ended visit where the patient pays later, the clinician's waiting area and its settings.
On each: nothing scrolls sideways, every control is hit where it is drawn (elementFromPoint;
44×44 px on touch screens), what is hidden stays invisible, axe-core finds nothing serious.
Entering the waiting area is done with taps on phones and with the keyboard alone. The records
pages and the Django admin get the axe check. Screenshots at 390×844 and 1280×800 go to
var/screenshots/patient-pages-<size>-<page>.png."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from carecall.accounts.models import User
from carecall.calls import services as calls
from carecall.calls.waiting_area import OpeningHours, WaitingAreaSettings
from carecall.orgs.demo import CLINIC_ADMIN, CLINICIAN, OPERATOR, ORG_ADMIN, PHYSIO, demo_seed
from carecall.orgs.models import Clinic, Organisation
from carecall.payments.demo import demo_payments_seed
from carecall.payments.models import PaymentRequest, PaymentStatus
from carecall.payments.services.requests import payment_request_create
from e2e.layout_checks import (
    DESKTOP,
    LAPTOP,
    PHONE,
    PHONE_SMALL,
    SCREENS,
    TABLET,
    Screen,
    axe_violations,
    is_touch,
    layout_problems,
    press,
    screenshot,
)
from e2e.payment_helpers import card_fields, payments_wired

SHOT_SIZES = {PHONE.name, LAPTOP.name}


@dataclass
class World:
    live_url: str
    guest_path: str  # a carer's unclaimed link
    ended_path: str  # the patient's link after the call, one payment still unpaid
    harbour: Clinic
    northside: Clinic
    organisation: Organisation
    paid: PaymentRequest


def _closed_today(clinic: Clinic) -> None:
    """Open every weekday but today (in the clinic's zone): the entry page says it is closed
    and lists the hours."""
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(clinic.timezone)).weekday()
    hours = tuple(OpeningHours(day, "08:30", "17:00") for day in range(7) if day != today)
    calls.waiting_area_update(
        actor=User.objects.get(email=ORG_ADMIN.email),
        clinic=clinic,
        settings=replace(WaitingAreaSettings.for_clinic(clinic), hours=hours),
    )


def _set_up(live_url: str) -> World:
    demo_seed()
    demo_payments_seed(weeks=1)  # Northside: Payment Gateway, Stripe, a week of payments
    northside = Clinic.objects.get(slug="northside-physio")
    harbour = Clinic.objects.get(slug="harbour-gp")
    nina = User.objects.get(email=PHYSIO.email)
    chris = User.objects.get(email=CLINICIAN.email)

    # A call at Northside ended with a payment still to make: the pay-later page.
    visit, token = calls.visit_create(
        clinic=northside, first_name="Pat", last_name="Jones", phone="", accepted_terms=True
    )
    calls.visit_join(actor=nina, visit=visit)
    payment_request_create(
        actor=nina,
        visit=visit,
        amount_text="85.00",
        description="Initial physiotherapy assessment and a home exercise program",
    )
    calls.visit_end(actor=nina, visit=visit)
    _closed_today(northside)

    # Harbour: one caller waiting, one in a call with Chris, and a carer's link to it.
    calls.visit_create(
        clinic=harbour,
        first_name="Alexandria",
        last_name="Montgomery-Whitfield",
        phone="",
        accepted_terms=True,
    )
    in_call, _ = calls.visit_create(
        clinic=harbour, first_name="Sam", last_name="Lee", phone="", accepted_terms=True
    )
    calls.visit_join(actor=chris, visit=in_call)
    _guest, guest_path = calls.guest_invite_create(actor=chris, visit=in_call, base_url="")
    paid = PaymentRequest.objects.filter(clinic=northside, status=PaymentStatus.PAID).first()
    assert paid is not None
    return World(
        live_url=live_url,
        guest_path=guest_path,
        ended_path=reverse("calls:visit", args=[token]),
        harbour=harbour,
        northside=northside,
        organisation=harbour.organisation,
        paid=paid,
    )


def _in_a_thread(work: Callable[[], World]) -> World:
    """The services broadcast to the call's channels (async_to_sync), which Django refuses in a
    thread where Playwright's event loop runs: set up from a thread of its own."""

    def run() -> World:
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@pytest.fixture
def world(live_url: str, settings) -> Iterator[World]:
    with payments_wired(settings, live_url):
        yield _in_a_thread(lambda: _set_up(live_url))


def _sign_in(context: BrowserContext, live_url: str, email: str) -> None:
    """The person's session cookie in the context, without the sign-in page (it is tested as a
    page of its own)."""
    context.clear_cookies()
    client = Client()
    client.force_login(User.objects.get(email=email))
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_url,
            }
        ]
    )


class Walk:
    """Goes through pages on one screen, checking each and collecting every problem."""

    def __init__(self, page: Page, screen: Screen, world: World) -> None:
        self.page, self.screen, self.world = page, screen, world
        self.problems: list[str] = []

    def check(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        if self.screen.name in SHOT_SIZES:
            screenshot(self.page, f"patient-pages-{self.screen.name}-{name}")
        self.problems += [f"{self.screen.name} {name}: {p}" for p in layout_problems(self.page)]

    def goto(self, path: str) -> Page:
        self.page.goto(self.world.live_url + path)
        return self.page


def _walk_patient_pages(walk: Walk) -> None:
    page, world = walk.page, walk.world
    walk.goto(reverse("accounts:sign_in"))
    walk.check("sign-in")

    # The entry page: device check done, then the form's errors, then in with a tap or a click.
    walk.goto(reverse("calls:entry", args=["harbour-gp"]))
    expect(page.get_by_text("Your camera and microphone work")).to_be_visible()
    walk.check("entry")
    press(page.get_by_role("button", name="Enter the waiting area"))
    expect(page.get_by_role("alert").first).to_contain_text("required")
    expect(page.get_by_text("Your camera and microphone work")).to_be_visible()
    walk.check("entry-errors")
    page.get_by_label("First name").fill("Pat")
    page.get_by_label("Last name").fill("Jones")
    press(page.get_by_label("I accept the clinic's terms"))
    expect(page.get_by_label("I accept the clinic's terms")).to_be_checked()
    press(page.get_by_role("button", name="Enter the waiting area"))
    expect(page.get_by_role("heading", name="You are in the waiting area")).to_be_visible()

    walk.goto(reverse("calls:entry", args=["northside-physio"]))
    expect(page.get_by_role("heading", level=1)).to_contain_text("waiting area is closed")
    walk.check("closed")

    walk.goto(world.guest_path)
    walk.check("guest-join")
    press(page.get_by_role("button", name="Join the call"))
    expect(page.get_by_role("alert")).to_be_visible()
    walk.check("guest-join-errors")

    walk.goto(world.ended_path)
    expect(page.get_by_role("heading", name="This consultation has ended")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Pay now"))).to_be_visible()
    walk.check("ended-pay-later")
    # Paying later: the pay sheet over the page, the Payment Element in its frame.
    press(page.get_by_role("button", name=re.compile("^Pay now")))
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(card_fields(page).get_by_label("Card number")).to_be_visible()
    walk.check("ended-pay-sheet")


def _walk_staff_pages(walk: Walk, context: BrowserContext) -> None:
    page, world = walk.page, walk.world
    _sign_in(context, world.live_url, CLINICIAN.email)
    walk.goto(reverse("calls:waiting_area", args=[world.harbour.pk]))
    expect(page.get_by_role("button", name="Join Alexandria Montgomery-Whitfield")).to_be_visible()
    expect(page.locator("[data-live-state]")).to_contain_text("Live")
    walk.check("waiting-area")

    _sign_in(context, world.live_url, CLINIC_ADMIN.email)
    walk.goto(reverse("calls:waiting_area_settings", args=[world.harbour.pk]))
    walk.check("waiting-area-settings")
    context.clear_cookies()


@pytest.mark.parametrize("screen", [PHONE_SMALL, PHONE, TABLET], ids=lambda s: s.name)
def test_patient_pages_on_touch_screens(
    world: World, screen: Screen, screen_context: Callable[..., BrowserContext]
) -> None:
    context = screen_context(screen)
    walk = Walk(context.new_page(), screen, world)
    assert is_touch(walk.page)
    _walk_patient_pages(walk)
    walk.page.close()  # the patient's waiting page holds the camera
    walk.page = context.new_page()
    _walk_staff_pages(walk, context)
    assert not walk.problems, "\n".join(walk.problems)


def test_patient_pages_on_desktops(world: World, desktop_context: BrowserContext) -> None:
    """One page, resized: a desktop needs no new context for another size."""
    page = desktop_context.new_page()
    problems: list[str] = []
    for screen in (LAPTOP, DESKTOP):
        page.set_viewport_size({"width": screen.width, "height": screen.height})
        walk = Walk(page, screen, world)
        _walk_patient_pages(walk)
        _walk_staff_pages(walk, desktop_context)
        problems += walk.problems
    assert not problems, "\n".join(problems)


def test_screens_are_the_five_sizes() -> None:
    assert [(s.width, s.height, s.touch) for s in SCREENS] == [
        (360, 640, True),
        (390, 844, True),
        (768, 1024, True),
        (1280, 800, False),
        (1920, 1080, False),
    ]


def _focused(page: Page) -> str:
    return str(
        page.evaluate(
            """() => { const el = document.activeElement;
            return (el.labels && el.labels[0] ? el.labels[0].textContent : el.textContent || "").trim(); }"""
        )
    )


def _tab_to(page: Page, name: str, limit: int = 40) -> None:
    """Tab forward until the control named `name` has the focus."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen.append(_focused(page))
        if seen[-1] == name:
            return
    raise AssertionError(f"Tab never reached {name!r}; focus went through {seen}")


def test_the_entry_page_with_the_keyboard_alone(
    world: World, desktop_context: BrowserContext
) -> None:
    page = desktop_context.new_page()
    page.goto(world.live_url + reverse("calls:entry", args=["harbour-gp"]))
    expect(page.get_by_text("Your camera and microphone work")).to_be_visible()
    # The camera check comes first: pick the other camera with the keys, check again.
    _tab_to(page, "Camera")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Camera", exact=True).locator("option:checked")).to_have_text(
        "fake_device_1"
    )
    _tab_to(page, "Check again")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your camera and microphone work")).to_be_visible()
    _tab_to(page, "First name")
    page.keyboard.type("Pat")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Last name")).to_be_focused()
    page.keyboard.type("Jones")
    _tab_to(page, "I accept the clinic's terms")
    page.keyboard.press("Space")
    expect(page.get_by_label("I accept the clinic's terms")).to_be_checked()
    _tab_to(page, "Enter the waiting area")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="You are in the waiting area")).to_be_visible()


def _axe_walk(page: Page, live_url: str) -> tuple[Callable[[str, str], None], list[str]]:
    problems: list[str] = []

    def axe(name: str, path: str) -> None:
        response = page.goto(live_url + path)
        assert response is not None, (name, path)
        assert response.ok, (name, path, response.status)
        screenshot(page, f"records-{name}")
        problems.extend(f"{name}: {line}" for line in axe_violations(page))

    return axe, problems


def test_records_pages_have_no_serious_axe_violation(
    world: World, desktop_context: BrowserContext
) -> None:
    axe, problems = _axe_walk(desktop_context.new_page(), world.live_url)
    _sign_in(desktop_context, world.live_url, ORG_ADMIN.email)
    northside, paid = world.northside, world.paid
    axe("clinic-payments", reverse("payments:clinic_payments", args=[northside.pk]))
    axe("payment-detail", reverse("payments:payment_detail", args=[northside.pk, paid.pk]))
    axe("clinic-report", reverse("payments:clinic_report", args=[northside.pk]))
    axe("org-report", reverse("payments:org_report", args=[world.organisation.pk]))
    assert not problems, "\n".join(problems)


def test_admin_pages_have_no_serious_axe_violation(
    world: World, desktop_context: BrowserContext
) -> None:
    page = desktop_context.new_page()
    axe, problems = _axe_walk(page, world.live_url)
    # The demo's operator: a plain staff user (carecall.accounts.backends lets operators in).
    _sign_in(desktop_context, world.live_url, OPERATOR.email)
    axe("admin-index", reverse("admin:index"))
    expect(page.get_by_role("link", name="Clinics")).to_be_visible()
    expect(page.get_by_role("link", name="Audit entries")).to_be_visible()  # not "entrys"
    axe("admin-clinics", reverse("admin:orgs_clinic_changelist"))
    expect(page.get_by_role("link", name="Harbour GP")).to_be_visible()
    assert not problems, "\n".join(problems)
