"""Destructive actions ask first, in a native dialog (core/confirm.js): Cancel or Escape changes
nothing and gives focus back; confirming does it. The server stays the authority."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from carecall.orgs.demo import CLINIC_ADMIN, CLINICIAN, OPERATOR, demo_seed
from e2e.call_helpers import confirm_in_dialog, sign_in
from e2e.payment_helpers import payments_wired
from e2e.test_payment_in_call import _approve_and_connect
from testsupport.browser import screenshot_path


def test_removing_the_stripe_account_asks_and_escape_keeps_it(
    live_url: str, browser: Browser, settings
) -> None:
    demo_seed()
    with payments_wired(settings, live_url):
        _approve_and_connect(browser, live_url)
        admin = browser.new_page()
        sign_in(admin, live_url, CLINIC_ADMIN.email)
        admin.get_by_role("link", name="Customer payments of Harbour GP").click()
        remove = admin.get_by_role("button", name="Remove")
        remove.click()
        question = admin.get_by_role("dialog", name="Remove the Stripe account?")
        expect(question).to_contain_text("payment requests that are not paid yet are cancelled")
        expect(question.get_by_role("button", name="Cancel")).to_be_focused()
        admin.screenshot(path=screenshot_path("confirm-remove-stripe"))
        admin.keyboard.press("Escape")
        expect(question).to_have_count(0)
        expect(remove).to_be_focused()
        expect(admin.get_by_role("main")).to_contain_text("acct_1SbxHarbourGP001")

        admin.get_by_role("button", name="Change Stripe account").click()
        expect(admin.get_by_role("dialog", name="Change the Stripe account?")).to_be_visible()
        admin.get_by_role("dialog").get_by_role("button", name="Cancel").click()
        expect(admin.get_by_role("main")).to_contain_text("acct_1SbxHarbourGP001")

        remove.click()
        confirm_in_dialog(admin, "Remove")
        expect(admin.get_by_role("button", name="Go to Stripe")).to_be_visible()


def test_disabling_an_app_and_changing_a_role_ask_first(
    live_url: str, browser: Browser, settings
) -> None:
    demo_seed()
    with payments_wired(settings, live_url):
        _approve_and_connect(browser, live_url)
        operator = browser.new_page()
        sign_in(operator, live_url, OPERATOR.email)
        operator.get_by_role("link", name="App requests").first.click()
        disable = operator.get_by_role("button", name=re.compile("^Disable Harbour GP"))
        disable.click()
        question = operator.get_by_role("dialog", name="Disable the app for Harbour GP?")
        expect(question).to_be_visible()
        question.get_by_role("button", name="Cancel").click()
        expect(disable).to_be_visible()
        # Escape is Cancel too, and focus goes back to the button that asked.
        disable.click()
        expect(question.get_by_role("button", name="Cancel")).to_be_focused()
        operator.keyboard.press("Escape")
        expect(question).to_have_count(0)
        expect(disable).to_be_focused()
        disable.click()
        confirm_in_dialog(operator, "Disable")
        expect(
            operator.get_by_role("button", name=re.compile("^Disable Harbour GP"))
        ).to_have_count(0)

        admin = browser.new_page()
        sign_in(admin, live_url, CLINIC_ADMIN.email)
        admin.get_by_role("link", name="Members of Harbour GP").click()
        change = admin.get_by_role("button", name=re.compile("^Change role of ")).first
        change.click()
        expect(admin.get_by_role("dialog", name=re.compile("^Change the role of "))).to_be_visible()
        admin.keyboard.press("Escape")
        expect(change).to_be_focused()


def test_removing_a_member_and_changing_a_role_ask_first(live_url: str, browser: Browser) -> None:
    """Cancel and Escape leave the membership as it was (and the role picker goes back); the
    confirm button does it. No Stripe needed: members are the clinic's own."""
    from carecall.accounts.models import User
    from carecall.orgs.models import Membership, Role

    demo_seed()
    chris = User.objects.get(email=CLINICIAN.email)

    def role() -> str | None:
        m = Membership.objects.filter(user=chris, clinic__slug="harbour-gp").first()
        return m.role if m else None

    admin = browser.new_page()
    sign_in(admin, live_url, CLINIC_ADMIN.email)
    admin.get_by_role("link", name="Members of Harbour GP").click()
    picker = admin.get_by_label(f"Role of {CLINICIAN.full_name}")
    change = admin.get_by_role("button", name=f"Change role of {CLINICIAN.full_name}")

    # A role change: Cancel keeps the role and puts the picker back.
    picker.select_option(label="Clinic admin")
    change.click()
    question = admin.get_by_role("dialog", name=f"Change the role of {CLINICIAN.full_name}?")
    expect(question.get_by_role("button", name="Cancel")).to_be_focused()
    question.get_by_role("button", name="Cancel").click()
    expect(question).to_have_count(0)
    expect(change).to_be_focused()
    expect(picker).to_have_value(Role.CLINICIAN)
    assert role() == Role.CLINICIAN
    # Confirmed, it changes.
    picker.select_option(label="Clinic admin")
    change.click()
    confirm_in_dialog(admin, "Change role")
    expect(admin.get_by_role("status")).not_to_be_empty()
    assert role() == Role.CLINIC_ADMIN

    # Removing: Escape keeps them and gives focus back to Remove.
    remove = admin.get_by_role("button", name=f"Remove {CLINICIAN.full_name}")
    remove.click()
    question = admin.get_by_role("dialog", name=f"Remove {CLINICIAN.full_name} from Harbour GP?")
    expect(question).to_contain_text("They lose their role (Clinic admin) here.")
    expect(question.get_by_role("button", name="Cancel")).to_be_focused()
    admin.screenshot(path=screenshot_path("confirm-remove-member"))
    admin.keyboard.press("Escape")
    expect(question).to_have_count(0)
    expect(remove).to_be_focused()
    assert role() == Role.CLINIC_ADMIN
    remove.click()
    confirm_in_dialog(admin, "Remove")
    expect(admin.get_by_role("status")).to_contain_text(
        f"{CLINICIAN.full_name} was removed from Harbour GP."
    )
    expect(admin.get_by_role("button", name=f"Remove {CLINICIAN.full_name}")).to_have_count(0)
    assert role() is None


def test_the_dialog_on_a_phone_stacks_full_width_touch_sized_buttons(
    live_url: str, browser: Browser
) -> None:
    demo_seed()
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        admin = phone.new_page()
        sign_in(admin, live_url, CLINIC_ADMIN.email)
        admin.get_by_role("link", name="Members of Harbour GP").tap()
        admin.get_by_role("button", name=f"Remove {CLINICIAN.full_name}").tap()
        question = admin.get_by_role("dialog")
        expect(question).to_be_visible()
        admin.screenshot(path=screenshot_path("confirm-remove-member-phone"))
        inner = question.evaluate(
            "d => d.clientWidth - 2 * parseFloat(getComputedStyle(d).paddingLeft)"
        )
        for name in ("Cancel", "Remove"):
            box = question.get_by_role("button", name=name).bounding_box()
            assert box is not None
            assert box["height"] >= 44, (name, box)
            assert abs(box["width"] - inner) <= 1, (name, box, inner)
        question.get_by_role("button", name="Cancel").tap()
        expect(question).to_have_count(0)
    finally:
        phone.close()


def test_refund_asks_with_the_typed_amount_and_escape_refunds_nothing(
    live_url: str, browser: Browser
) -> None:
    """The amount is never pre-filled; the question repeats what was typed (with its decimals);
    Escape answers no and gives focus back. (Confirming it is in test_refund_and_report.)"""
    from django.utils import timezone

    from carecall.accounts.models import User
    from carecall.orgs.models import Clinic
    from carecall.payments.models import PaymentRequest, Refund
    from carecall.payments.tests.test_records_support import add_request

    demo_seed()
    harbour = Clinic.objects.get(slug="harbour-gp")
    paid = add_request(
        clinic=harbour, clinician=User.objects.get(email=CLINICIAN.email), created_at=timezone.now()
    )
    admin = browser.new_page()
    sign_in(admin, live_url, CLINIC_ADMIN.email)
    admin.goto(f"{live_url}/clinics/{harbour.pk}/payments/{paid.pk}/")
    amount = admin.get_by_label("Amount to refund (AUD)")
    expect(amount).to_have_value("")
    expect(amount).to_have_accessible_description("Up to AUD 85.00.")
    refund = admin.get_by_role("button", name="Refund", exact=True)

    # Nothing typed: no question; the server says what is missing and nothing is refunded.
    refund.click()
    expect(admin.get_by_role("alert")).to_be_visible()
    expect(admin.get_by_role("dialog")).to_have_count(0)

    admin.get_by_label("Amount to refund (AUD)").fill("20")
    admin.get_by_role("button", name="Refund", exact=True).click()
    question = admin.get_by_role("dialog", name="Refund this payment?")
    expect(question).to_contain_text("AUD 20.00 goes back to the card it was paid with.")
    expect(question.get_by_role("button", name="Cancel")).to_be_focused()
    admin.screenshot(path=screenshot_path("confirm-refund"))
    admin.keyboard.press("Escape")
    expect(question).to_have_count(0)
    expect(admin.get_by_role("button", name="Refund", exact=True)).to_be_focused()
    expect(admin.get_by_label("Amount to refund (AUD)")).to_have_value("20")
    assert not Refund.objects.exists()
    assert PaymentRequest.objects.get(pk=paid.pk).amount_refunded == 0
