"""The Stripe.js shim in real Chromium: a page on another origin mounts the Payment Element -
a cross-origin iframe from the sandbox, as Stripe.js mounts it - and pays: a good card, a
declined card then a good one, 3-D Secure challenges (in a modal iframe), validation wording,
and that the page itself never sees the card."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Frame, FrameLocator, Page, Request, expect

from stripe_sandbox import HARBOUR_GP_ACCOUNT_ID
from stripe_sandbox.tests.helpers import HARBOUR
from testsupport.browser import screenshot_path

pytestmark = pytest.mark.browser

PK = "pk_test_carecall_platform"
PAYMENT_FRAME = 'iframe[title="Secure payment input frame"]'
CHALLENGE_FRAME = 'iframe[title="3D Secure authentication"]'

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Pay Harbour GP</title>
<script src="%(shim)s"></script></head>
<body><main><h1>Pay Harbour GP Pty Ltd</h1>
<form id="pay">
  <p><label for="email">Email for receipt</label>
     <input id="email" type="email" value="pat@example.com"></p>
  <div id="payment-element"></div>
  <button type="submit">Pay A$45.00</button>
  <p id="result" role="status"></p>
  <p id="error" role="alert"></p>
</form></main>
<script>
  // Everything the page is told: a frame that leaked card data would show up here.
  window.messages = [];
  window.addEventListener("message", (e) => window.messages.push(JSON.stringify(e.data)));
  const stripe = Stripe(%(pk)s, {stripeAccount: %(account)s});
  const elements = stripe.elements({clientSecret: %(secret)s, appearance: {theme: "stripe"}});
  const element = elements.create("payment", %(options)s);
  element.mount("#payment-element");
  window.changes = [];
  window.readies = 0;
  element.on("change", (e) => window.changes.push(e));
  element.on("ready", () => { window.readies += 1; });
  document.getElementById("pay").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    document.getElementById("error").textContent = "";
    const {paymentIntent, error} = await stripe.confirmPayment({
      elements,
      confirmParams: {receipt_email: document.getElementById("email").value,
                      return_url: location.href},
      redirect: "if_required",
    });
    if (error) {
      window.lastError = error;
      document.getElementById("error").textContent = error.message;
    } else {
      window.lastIntent = paymentIntent;
      document.getElementById("result").textContent = "Payment " + paymentIntent.status;
    }
  });
</script></body></html>"""


@pytest.fixture
def shop(connected) -> Iterator[str]:
    """A page server on its own origin (another port), as CareCall's payment page is."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            q = parse_qs(urlsplit(self.path).query)
            if "secret" not in q:  # /favicon.ico
                self.send_error(404)
                return
            country = q.get("country", [""])[0]
            options = (
                {"defaultValues": {"billingDetails": {"address": {"country": country}}}}
                if country
                else {}
            )
            body = PAGE % {
                "shim": connected.shim_url,
                "pk": json.dumps(PK),
                "account": json.dumps(HARBOUR_GP_ACCOUNT_ID),
                "secret": json.dumps(q["secret"][0]),
                "options": json.dumps(options),
            }
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/pay"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def intent(client):
    return client.v1.payment_intents.create(
        {
            "amount": 4500,
            "currency": "aud",
            "description": "Consultation",
            "automatic_payment_methods": {"enabled": True},
        },
        HARBOUR,
    )


def card(page: Page) -> FrameLocator:
    return page.frame_locator(PAYMENT_FRAME)


def card_frame(page: Page) -> Frame:
    handle = page.locator(PAYMENT_FRAME).element_handle()
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None
    return frame


def open_page(browser: Browser, shop: str, intent, *, country: str = "", **context) -> Page:
    page = browser.new_context(**context).new_page()
    page.goto(f"{shop}?secret={intent.client_secret}&country={country}")
    expect(card(page).get_by_label("Card number")).to_be_visible()
    return page


def fill_card(
    page: Page, number: str, expiry: str = "12 / 34", cvc: str = "123", postcode: str = "2000"
) -> None:
    fields = card(page)
    fields.get_by_label("Card number").fill(number)
    fields.get_by_label("Expiry (MM / YY)").fill(expiry)
    fields.get_by_label("CVC").fill(cvc)
    if postcode:
        fields.get_by_label("Postcode").fill(postcode)


def challenge(page: Page, button: str) -> None:
    dialog = page.get_by_role("dialog", name="3D Secure authentication")
    expect(dialog).to_be_visible()
    page.frame_locator(CHALLENGE_FRAME).get_by_role("button", name=button).click()
    expect(dialog).to_have_count(0)


def test_pays_with_a_good_card(browser, shop, intent, client):
    page = open_page(browser, shop, intent)
    assert page.evaluate("window.readies") == 1
    fill_card(page, "4242 4242 4242 4242")
    expect(card(page).get_by_label("Card number")).to_have_value("4242 4242 4242 4242")
    assert page.evaluate("window.changes.at(-1).complete") is True
    page.screenshot(path=screenshot_path("sandbox-shim-card-filled"))
    page.get_by_role("button", name="Pay A$45.00").click()
    expect(page.get_by_role("status")).to_have_text("Payment succeeded")
    page.screenshot(path=screenshot_path("sandbox-shim-paid"))
    pi = client.v1.payment_intents.retrieve(intent.id, {"expand": ["latest_charge"]}, HARBOUR)
    assert pi.status == "succeeded" and pi.receipt_email == "pat@example.com"
    assert pi.latest_charge.payment_method_details.card.last4 == "4242"
    address = pi.latest_charge.billing_details.address
    assert (address.country, address.postal_code) == ("AU", "2000")
    assert page.evaluate("window.lastIntent.id") == intent.id
    secret = json.dumps(intent.client_secret)
    retrieved = page.evaluate(
        f"stripe.retrievePaymentIntent({secret}).then(r => r.paymentIntent.status)"
    )
    assert retrieved == "succeeded"
    page.close()


def test_the_page_never_sees_the_card_and_one_confirm_request_is_made(
    browser, shop, intent, sandbox
):
    page = open_page(browser, shop, intent)
    requests: list[Request] = []
    page.on("request", lambda r: requests.append(r))
    fill_card(page, "4242 4242 4242 4242", cvc="737")
    page.get_by_role("button", name="Pay A$45.00").click()
    expect(page.get_by_role("status")).to_have_text("Payment succeeded")

    # The frame is another origin: the page cannot reach into it...
    seen = page.evaluate(
        """() => {
          const iframe = document.querySelector('iframe[title="Secure payment input frame"]');
          let blocked = false;
          try { iframe.contentWindow.document; } catch (e) { blocked = e.name === "SecurityError"; }
          return {
            contentDocument: iframe.contentDocument === null,
            blocked,
            origin: new URL(iframe.src).origin,
            inputs: [...document.querySelectorAll("input")].map((i) => i.value),
            html: document.documentElement.outerHTML,
          };
        }"""
    )
    assert seen["contentDocument"] and seen["blocked"]
    assert seen["origin"] == sandbox.url
    assert seen["inputs"] == ["pat@example.com"]  # the page's own field only
    assert "4242" not in seen["html"] and "737" not in seen["html"]
    # ...and nothing it was told (change events, replies) carries the number or the CVC.
    messages = page.evaluate("window.messages")
    assert messages and not any(
        "4242" in m or '"737"' in m or "cvc" in m.lower() for m in messages
    ), messages

    # The frame, not the page, made the calls: one PaymentMethod, exactly one confirm.
    api = [r for r in requests if "/v1/" in r.url and r.method == "POST"]
    confirms = [r for r in api if re.search(r"/v1/payment_intents/pi_\w+/confirm$", r.url)]
    assert len(confirms) == 1, [r.url for r in api]
    assert [r.url.rsplit("/", 1)[-1] for r in api] == ["payment_methods", "confirm"]
    assert all(r.frame.url.startswith(f"{sandbox.url}/elements/payment.html") for r in api)
    assert "4242424242424242" in (api[0].post_data or "")  # the card went from the frame
    page.close()


def test_messages_from_anything_but_the_frame_are_ignored(browser, shop, intent):
    page = open_page(browser, shop, intent)
    before = page.evaluate("window.changes.length")
    # The page forges a frame message on the frame's own channel: wrong origin and source.
    page.evaluate(
        """() => {
          const iframe = document.querySelector('iframe[title="Secure payment input frame"]');
          const channel = new URLSearchParams(new URL(iframe.src).hash.slice(1)).get("channel");
          window.postMessage({sbx: "stripe_sandbox", channel, type: "change",
                              event: {complete: true, forged: true}}, "*");
        }"""
    )
    page.wait_for_function("window.messages.some((m) => m.includes('forged'))")
    assert page.evaluate("window.changes.length") == before
    page.close()


def test_declined_card_shows_the_reason_then_a_good_card_pays(browser, shop, intent, client):
    page = open_page(browser, shop, intent)
    fill_card(page, "4000000000000002")
    page.get_by_role("button", name="Pay A$45.00").click()
    expect(page.get_by_role("alert").filter(has_text="declined")).to_have_text(
        "Your card was declined."
    )
    page.screenshot(path=screenshot_path("sandbox-shim-declined"))
    error = page.evaluate("window.lastError")
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        "generic_decline",
    )
    assert client.v1.payment_intents.retrieve(intent.id, options=HARBOUR).status == (
        "requires_payment_method"
    )
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name="Pay A$45.00").click()
    expect(page.get_by_role("status")).to_have_text("Payment succeeded")
    expect(page.locator("#error")).to_have_text("")
    page.close()


def test_insufficient_funds_message(browser, shop, intent):
    page = open_page(browser, shop, intent)
    fill_card(page, "4000000000009995")
    page.get_by_role("button", name="Pay A$45.00").click()
    expect(page.locator("#error")).to_have_text("Your card has insufficient funds.")
    page.close()


def test_three_d_secure_complete(browser, shop, intent, client, sandbox):
    page = open_page(browser, shop, intent)
    fill_card(page, "4000002500003155")
    page.get_by_role("button", name="Pay A$45.00").click()
    dialog = page.get_by_role("dialog", name="3D Secure authentication")
    expect(dialog).to_be_visible()
    frame = page.frame_locator(CHALLENGE_FRAME)
    expect(frame.get_by_role("heading", name="3D Secure 2 Test Page")).to_be_visible()
    expect(frame.get_by_role("button", name="Fail")).to_be_visible()
    assert (
        page.evaluate("new URL(document.querySelector('dialog iframe').src).origin") == sandbox.url
    )
    page.screenshot(path=screenshot_path("sandbox-shim-3ds-challenge"))
    challenge(page, "Complete")
    expect(page.get_by_role("status")).to_have_text("Payment succeeded")
    assert client.v1.payment_intents.retrieve(intent.id, options=HARBOUR).status == "succeeded"
    page.close()


def test_three_d_secure_fail(browser, shop, intent, client):
    page = open_page(browser, shop, intent)
    fill_card(page, "4000002500003155")
    page.get_by_role("button", name="Pay A$45.00").click()
    challenge(page, "Fail")
    expect(page.locator("#error")).to_contain_text("unable to authenticate")
    error = page.evaluate("window.lastError")
    assert (error["type"], error["code"]) == (
        "invalid_request_error",
        "payment_intent_authentication_failure",
    )
    pi = client.v1.payment_intents.retrieve(intent.id, options=HARBOUR)
    assert pi.status == "requires_payment_method"
    page.close()


def test_three_d_secure_with_the_keyboard_and_escape_cancels(browser, shop, intent, client):
    page = open_page(browser, shop, intent)
    fill_card(page, "4000002500003155")
    page.get_by_role("button", name="Pay A$45.00").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="3D Secure authentication")
    expect(dialog).to_be_visible()
    frame = page.frame_locator(CHALLENGE_FRAME)
    # The focus moves into the challenge; Tab reaches Fail.
    expect(frame.get_by_role("button", name="Complete")).to_be_focused()
    page.keyboard.press("Tab")
    expect(frame.get_by_role("button", name="Fail")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(page.locator("#error")).to_contain_text("unable to authenticate")
    assert page.evaluate("window.lastError.code") == "payment_intent_authentication_failure"
    assert client.v1.payment_intents.retrieve(intent.id, options=HARBOUR).status == (
        "requires_payment_method"
    )
    # Again, completed with Enter alone.
    page.get_by_role("button", name="Pay A$45.00").focus()
    page.keyboard.press("Enter")
    expect(frame.get_by_role("button", name="Complete")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Payment succeeded")
    page.close()


def test_validation_messages(browser, shop, intent, client):
    page = open_page(browser, shop, intent)
    fields = card(page)
    number = fields.get_by_label("Card number")
    number.fill("4242 42")
    fields.get_by_label("CVC").focus()
    expect(fields.get_by_text("Your card number is incomplete.")).to_be_visible()
    expect(number).to_have_attribute("aria-invalid", "true")
    number.fill("4242 4242 4242 4241")
    expect(fields.get_by_text("Your card number is invalid.")).to_be_visible()
    change = page.evaluate("window.changes.at(-1)")
    assert change["complete"] is False and change["empty"] is False
    assert change["error"]["message"] == "Your card number is invalid."
    fields.get_by_label("Expiry (MM / YY)").fill("01 / 20")
    fields.get_by_label("CVC").focus()
    expect(fields.get_by_text("Your card's expiration year is in the past.")).to_be_visible()
    page.get_by_role("button", name="Pay A$45.00").click()
    expect(fields.get_by_text("Your card's security code is incomplete.")).to_be_visible()
    # An Australian card's postcode: the label's word, said once, under its field.
    expect(fields.get_by_label("Country")).to_have_value("AU")
    expect(fields.get_by_text("Your postcode is incomplete.")).to_have_count(1)
    expect(fields.get_by_text(re.compile("postal code", re.I))).to_have_count(0)
    assert page.evaluate("window.lastError.type") == "validation_error"
    page.screenshot(path=screenshot_path("sandbox-shim-validation"))
    assert client.v1.payment_intents.retrieve(intent.id, options=HARBOUR).status == (
        "requires_payment_method"
    )
    page.evaluate("element.unmount()")
    expect(page.locator(PAYMENT_FRAME)).to_have_count(0)
    page.close()


def test_a_postcode_field_says_postcode_once(browser, shop, intent, client):
    page = open_page(browser, shop, intent, country="GB")
    fields = card(page)
    fill_card(page, "4242 4242 4242 4242", postcode="")
    postcode = fields.get_by_label("Postcode")
    expect(postcode).to_be_visible()
    page.get_by_role("button", name="Pay A$45.00").click()
    expect(fields.get_by_text("Your postcode is incomplete.")).to_have_count(1)
    expect(fields.get_by_text(re.compile("postal code", re.I))).to_have_count(0)
    expect(postcode).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("window.lastError.message") == "Your postcode is incomplete."
    postcode.fill("SW1A 1AA")
    expect(fields.get_by_text("Your postcode is incomplete.")).to_have_count(0)
    page.get_by_role("button", name="Pay A$45.00").click()
    expect(page.get_by_role("status")).to_have_text("Payment succeeded")
    pi = client.v1.payment_intents.retrieve(intent.id, {"expand": ["latest_charge"]}, HARBOUR)
    address = pi.latest_charge.billing_details.address
    assert (address.country, address.postal_code) == ("GB", "SW1A 1AA")
    # The United States: Stripe's "ZIP", and its own message; Singapore: no postal code.
    fields.get_by_label("Country").select_option("US")
    expect(fields.get_by_label("ZIP")).to_be_visible()
    fields.get_by_label("ZIP").fill("9021")
    fields.get_by_label("CVC").focus()
    expect(fields.get_by_text("Your ZIP is invalid.")).to_be_visible()
    fields.get_by_label("Country").select_option("SG")
    expect(fields.get_by_label("ZIP")).to_be_hidden()
    page.close()


def test_fields_are_phone_friendly_and_the_frame_fits_a_360px_screen(browser, shop, intent):
    page = open_page(
        browser,
        shop,
        intent,
        country="US",
        viewport={"width": 360, "height": 640},
        is_mobile=True,
        has_touch=True,
    )
    fields = card(page)
    expect(fields.get_by_label("ZIP")).to_be_visible()
    for label, autocomplete, inputmode in (
        ("Card number", "cc-number", "numeric"),
        ("Expiry (MM / YY)", "cc-exp", "numeric"),
        ("CVC", "cc-csc", "numeric"),
        ("ZIP", "postal-code", None),
    ):
        field = fields.get_by_label(label)
        expect(field).to_have_attribute("autocomplete", autocomplete)
        if inputmode:
            expect(field).to_have_attribute("inputmode", inputmode)
        box = field.bounding_box()
        assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= 360
    frame = card_frame(page)
    # No inner scrollbar (the page sized the iframe to the frame's content), nothing sideways.
    page.wait_for_function(
        """() => {
          const f = document.querySelector('iframe[title="Secure payment input frame"]');
          return f.getBoundingClientRect().height > 100;
        }"""
    )
    inner = frame.evaluate(
        "() => ({sh: document.documentElement.scrollHeight, h: innerHeight,"
        " sw: document.documentElement.scrollWidth, w: innerWidth})"
    )
    assert inner["sh"] <= inner["h"] and inner["sw"] <= inner["w"], inner
    outer = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert outer[0] <= outer[1], outer
    page.screenshot(path=screenshot_path("sandbox-shim-phone"))
    fields.get_by_label("Card number").tap()
    page.close()


def test_the_frames_run_under_their_own_strict_csp(browser, shop, intent, sandbox):
    page = open_page(browser, shop, intent)
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    frame = card_frame(page)
    policy = frame.evaluate(
        "() => fetch(location.href).then((r) => r.headers.get('content-security-policy'))"
    )
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    # The frame's document: every script a file, no inline style or handler.
    assert frame.evaluate(
        "() => [...document.scripts].every((s) => s.src) &&"
        " !document.querySelector('[style], [onclick], [oninput], style')"
    )
    fill_card(page, "4000002500003155")
    page.get_by_role("button", name="Pay A$45.00").click()
    challenge(page, "Complete")
    expect(page.get_by_role("status")).to_have_text("Payment succeeded")
    assert not violations, violations
    page.close()
