"""Each demo person signs in with the browser and sees what their role lets them do."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from carecall.orgs.demo import (
    CLINIC_ADMIN,
    CLINICIAN,
    DEMO_PASSWORD,
    OPERATOR,
    ORG_ADMIN,
    PHYSIO,
    demo_seed,
)
from testsupport.browser import screenshot_path

EXPECTED = {
    OPERATOR.key: {
        "sees": ["Platform operator", "Organisations", "Django admin"],
        "not": ["Your clinics"],
    },
    ORG_ADMIN.key: {
        "sees": ["Demo Health", "Manage organisation", "Harbour GP", "Northside Physio"],
        "not": ["Platform operator"],
    },
    CLINIC_ADMIN.key: {
        "sees": ["Harbour GP", "Clinic admin", "Members"],
        "not": ["Northside Physio"],
    },
    CLINICIAN.key: {"sees": ["Harbour GP", "Clinician"], "not": ["Northside Physio", "Members"]},
    PHYSIO.key: {"sees": ["Northside Physio", "Clinician"], "not": ["Harbour GP", "Members"]},
}


@pytest.mark.parametrize(
    "person", [OPERATOR, ORG_ADMIN, CLINIC_ADMIN, CLINICIAN, PHYSIO], ids=lambda p: p.key
)
def test_demo_person_signs_in_and_sees_their_home(live_url: str, browser: Browser, person) -> None:
    demo_seed()
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_url}/")
    expect(page).to_have_url(re.compile(r"/accounts/sign-in/"))
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Greeted by first name, past any title ("Dr Chris Lee" is greeted as Chris).
    first_name = next(w for w in person.full_name.split() if w.rstrip(".") not in ("Dr", "Prof"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {first_name}")
    main = page.get_by_role("main")
    for text in EXPECTED[person.key]["sees"]:
        expect(main).to_contain_text(text)
    for text in EXPECTED[person.key]["not"]:
        expect(main).not_to_contain_text(text)
    page.screenshot(path=screenshot_path(f"home-{person.key}"), full_page=True)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/sign-in/"))
    context.close()


def test_a_clinic_admin_invites_a_clinician_who_joins_from_the_email(
    live_url: str, browser: Browser, mailoutbox
) -> None:
    demo_seed()
    page = browser.new_page()
    page.goto(f"{live_url}/accounts/sign-in/")
    page.get_by_label("Email").fill(CLINIC_ADMIN.email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Members of Harbour GP").click()
    page.get_by_label("Email").fill("newdoc@demo-health.test")
    page.get_by_label("Role", exact=True).select_option(label="Clinician")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to newdoc@demo-health.test")
    page.screenshot(path=screenshot_path("clinic-members"), full_page=True)
    link = re.search(r"http://\S+(/accounts/invitations/\S+/)", str(mailoutbox[-1].body))
    assert link
    page.get_by_role("button", name="Sign out").click()
    page.goto(live_url + link.group(1))
    page.get_by_label("Full name").fill("Dr New Doctor")
    page.get_by_label("Choose a password").fill("a long new password")
    page.get_by_label("Type the password again").fill("a long new password")
    page.get_by_role("button", name="Create account and accept").click()
    expect(page.get_by_role("status")).to_contain_text("You are now clinician of Harbour GP")
    expect(page.get_by_role("main")).to_contain_text("Harbour GP")
    page.close()
