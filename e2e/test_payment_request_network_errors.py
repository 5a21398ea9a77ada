"""Request payment after a network error: the clinician is told and can press it again, both
when the request fails at once and when no answer ever comes."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, Route, expect

from carecall.orgs.demo import demo_seed
from e2e.payment_helpers import payments_wired
from e2e.test_payment_in_call import _approve_and_connect, _into_call

UNREACHABLE = "CareCall could not be reached. Check your connection and try again."
VISIT_PAYMENTS = re.compile(r"/clinics/\d+/visits/[0-9a-f-]+/payments/$")


def _fill(doctor: Page, amount: str, description: str) -> None:
    doctor.get_by_role("button", name="Apps and tools").click()
    apps = doctor.get_by_role("complementary", name="Apps and tools")
    apps.get_by_role("button", name="Request payment").first.click()
    doctor.get_by_label(re.compile(r"^Amount")).fill(amount)
    doctor.get_by_label("Description").fill(description)


def test_request_payment_can_be_pressed_again_after_a_network_error(
    live_url: str, browser: Browser, settings
) -> None:
    demo_seed()
    with payments_wired(settings, live_url):
        # The page waits as long as the server may take at worst: one 1 s try, plus 5 s.
        settings.STRIPE_TIMEOUT_SECONDS = 1
        settings.STRIPE_MAX_NETWORK_RETRIES = 0
        _approve_and_connect(browser, live_url)
        doctor, _patient = _into_call(browser, live_url)
        _fill(doctor, "45.00", "Consultation")
        form = doctor.locator("[data-request-form]")
        submit = form.get_by_role("button", name="Request payment")

        def refuse(route: Route) -> None:
            if route.request.method == "POST":
                route.abort("internetdisconnected")
            else:
                route.fallback()

        doctor.route(VISIT_PAYMENTS, refuse)
        submit.click()
        expect(form.get_by_role("alert")).to_have_text(UNREACHABLE)
        expect(submit).to_be_enabled()

        # A network that swallows the request: no answer, no error. The page gives up after
        # the server's worst case and the button works again.
        held: list[Route] = []

        def swallow(route: Route) -> None:
            if route.request.method == "POST":
                held.append(route)  # never answered
            else:
                route.fallback()

        doctor.unroute(VISIT_PAYMENTS)
        doctor.route(VISIT_PAYMENTS, swallow)
        form.get_by_role("alert").evaluate("(node) => { node.textContent = ''; }")
        submit.click()
        expect(submit).to_be_disabled()
        expect(form.get_by_role("alert")).to_have_text(UNREACHABLE, timeout=12_000)
        expect(submit).to_be_enabled()
        assert len(held) == 1

        # The network is back: the same press requests the payment.
        doctor.unroute(VISIT_PAYMENTS)
        submit.click()
        item = doctor.locator("[data-pay-list] li").filter(has_text="Consultation")
        expect(item).to_contain_text("Waiting for payment")
