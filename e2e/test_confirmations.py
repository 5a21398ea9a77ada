"""Destructive actions ask first, in a native dialog (core/confirm.js): Cancel or Escape changes
nothing and gives focus back; confirming does it. The server stays the authority."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from carecall.orgs.demo import CLINIC_ADMIN, OPERATOR, demo_seed
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
