"""CareCall's call page meets the Payment Element as Stripe.js draws it: a cross-origin iframe
from the Stripe origin that the page's CSP allows (frame-src, exercised for real), card data
the page never sees, one confirm request made by the frame, and 3-D Secure in a modal frame
over the pay sheet."""

from __future__ import annotations

import dataclasses
import re

from playwright.sync_api import Browser, Request, expect

from carecall.calls import call_apps
from carecall.orgs.demo import demo_seed
from carecall.payments.call_tool import PAYMENTS_TOOL_KEY
from e2e.payment_helpers import (
    PAYMENT_FRAME,
    card_fields,
    challenge,
    fill_card,
    payments_wired,
    three_d_secure,
)
from e2e.test_payment_in_call import _approve_and_connect, _into_call, _request

# Every CSP violation on the page, from its first script on.
_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def _directive(policy: str, name: str) -> list[str]:
    for part in policy.split(";"):
        words = part.split()
        if words and words[0] == name:
            return words[1:]
    return []


def test_the_card_stays_in_the_stripe_frame_the_csp_allows_it_and_3ds_is_a_modal_frame(
    live_url: str, browser: Browser, settings
) -> None:
    demo_seed()
    with payments_wired(settings, live_url) as (sandbox, _smtp):
        _approve_and_connect(browser, live_url)
        doctor, patient = _into_call(browser, live_url)
        patient.add_init_script(_RECORD_VIOLATIONS)
        policies: list[str] = []
        patient.on(
            "response",
            lambda r: (
                policies.append(r.headers.get("content-security-policy", ""))
                if r.request.resource_type == "document" and r.url.startswith(live_url)
                else None
            ),
        )
        patient.reload()  # the init script and the policy from the page's first byte
        _request(doctor, "85.00", "Standard consultation")

        # The call page's own policy: frames from exactly the sandbox's origin.
        assert policies and _directive(policies[-1], "frame-src") == [sandbox.url]

        requests: list[Request] = []
        patient.on("request", lambda r: requests.append(r))
        patient.get_by_role("button", name=re.compile("^Pay now")).click()
        patient.get_by_label("Email for your receipt").fill("pat@example.test")
        fill_card(patient, "4000 0025 0000 3155", cvc="737")
        expect(card_fields(patient).get_by_label("Card number")).to_have_value(
            "4000 0025 0000 3155"
        )
        seen = patient.evaluate(
            """(selector) => {
              const iframe = document.querySelector(selector);
              return {
                origin: new URL(iframe.src).origin,
                reachable: iframe.contentDocument !== null,
                values: [...document.querySelectorAll("input, textarea")].map((i) => i.value),
                html: document.documentElement.outerHTML,
              };
            }""",
            PAYMENT_FRAME,
        )
        assert seen["origin"] == sandbox.url and not seen["reachable"]
        assert not any("3155" in v for v in seen["values"]), seen["values"]
        assert "3155" not in seen["html"] and "737" not in seen["html"]

        patient.get_by_role("button", name="Pay AUD 85.00").click()
        # 3-D Secure over the pay sheet: the sheet behind it is inert.
        expect(challenge(patient)).to_be_visible()
        assert (
            patient.evaluate(
                "[...document.querySelectorAll('dialog[open]')].pop().getAttribute('aria-label')"
            )
            == "3D Secure authentication"
        )
        three_d_secure(patient, "Complete")
        confirmation = patient.get_by_role("region", name="Payment confirmed")
        expect(confirmation).to_contain_text("Visa •••• 3155")
        expect(doctor.get_by_role("region", name="Payment received")).to_contain_text("AUD 85.00")

        confirms = [
            r
            for r in requests
            if r.method == "POST" and re.search(r"/v1/payment_intents/pi_\w+/confirm$", r.url)
        ]
        assert len(confirms) == 1, [r.url for r in requests if "/v1/" in r.url]
        assert confirms[0].frame.url.startswith(f"{sandbox.url}/elements/payment.html")
        # Nothing was blocked: the frames, their scripts and styles all passed the policies.
        assert patient.evaluate("window.__cspViolations") == []


def test_without_the_stripe_origin_in_frame_src_the_browser_blocks_the_element(
    live_url: str, browser: Browser, settings, monkeypatch
) -> None:
    """The other side of the first test: the policy really is what lets the frame in."""
    app = call_apps._REGISTRY[PAYMENTS_TOOL_KEY]
    real = app.page_csp
    monkeypatch.setitem(
        call_apps._REGISTRY,
        PAYMENTS_TOOL_KEY,
        dataclasses.replace(
            app, page_csp=lambda: {k: v for k, v in real().items() if k != "frame-src"}
        ),
    )
    demo_seed()
    with payments_wired(settings, live_url) as (sandbox, _smtp):
        _approve_and_connect(browser, live_url)
        doctor, patient = _into_call(browser, live_url)
        patient.add_init_script(_RECORD_VIOLATIONS)
        patient.reload()
        _request(doctor, "85.00", "Standard consultation")
        patient.get_by_role("button", name=re.compile("^Pay now")).click()
        # Polled from here: wait_for_function's string would be eval'd, which this page's CSP
        # (rightly) refuses.
        for _ in range(100):
            if patient.evaluate("() => window.__cspViolations.length") > 0:
                break
            patient.wait_for_timeout(100)
        violations = patient.evaluate("window.__cspViolations")
        assert any(
            v.startswith("frame-src") and v.split()[1].startswith(sandbox.url) for v in violations
        ), violations
        expect(card_fields(patient).get_by_label("Card number")).to_have_count(0)
