"""The payer's card was charged but the check that follows could not reach Stripe: the page says
what is known (not "nothing was charged"), keeps checking, and confirms once Stripe answers
(issue 11, fault 4)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from carecall.orgs.demo import demo_seed
from e2e.payment_helpers import fill_card, payments_wired
from e2e.test_payment_in_call import _approve_and_connect, _into_call, _request

UNCONFIRMED = (
    "We could not confirm the payment yet. You will not be charged twice: we keep checking."
)


def test_a_failed_check_after_paying_says_not_confirmed_yet_then_confirms(
    live_url: str, browser: Browser, settings
) -> None:
    demo_seed()
    with payments_wired(settings, live_url) as (sandbox, _smtp):
        _approve_and_connect(browser, live_url)
        doctor, patient = _into_call(browser, live_url)
        _request(doctor, "85.00", "Standard consultation")
        patient.get_by_role("button", name=re.compile("^Pay now")).click()
        patient.get_by_label("Email for your receipt").fill("pat@example.test")
        fill_card(patient, "4242 4242 4242 4242")
        # Stripe takes the card (the frame's POST confirm) but every retrieve fails: the server's
        # check after paying, and the worker's re-read of the webhook.
        sandbox.configure_faults(
            api_error_rate=1.0,
            api_error_status=503,
            api_error_paths=["/v1/payment_intents/"],
            api_fault_methods=["get"],
        )
        patient.get_by_role("button", name=re.compile(r"^Pay AUD ")).click()

        error = patient.locator("[data-pay-form-error]")
        expect(error).to_have_text(UNCONFIRMED, timeout=20_000)
        assert "nothing was charged" not in patient.locator("[data-pay-dialog]").inner_text()
        sandbox.clear_faults()  # Stripe answers again: the page's next check confirms
        confirmation = patient.locator("[data-pay-confirmation]")
        expect(confirmation).to_be_visible(timeout=20_000)
        expect(confirmation).to_contain_text("AUD 85.00")
