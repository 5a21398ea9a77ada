"""The Stripe.js shim in real Chromium: a page on another origin mounts the Payment Element
and pays - a good card, a declined card then a good one, and 3-D Secure challenges."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from stripe_sandbox import HARBOUR_GP_ACCOUNT_ID
from testsupport.browser import screenshot_path

from .conftest import HARBOUR

pytestmark = pytest.mark.browser

PK = "pk_test_carecall_platform"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pay Harbour GP</title>
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
  const stripe = Stripe(%(pk)s, {stripeAccount: %(account)s});
  const elements = stripe.elements({clientSecret: %(secret)s, appearance: {theme: "stripe"}});
  const element = elements.create("payment");
  element.mount("#payment-element");
  window.changes = [];
  element.on("change", (e) => window.changes.push(e));
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
    """A page server on its own origin, as CareCall's payment page will be."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            q = parse_qs(urlsplit(self.path).query)
            body = PAGE % {
                "shim": connected.shim_url,
                "pk": json.dumps(PK),
                "account": json.dumps(HARBOUR_GP_ACCOUNT_ID),
                "secret": json.dumps(q["secret"][0]),
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


def open_page(browser: Browser, shop: str, intent) -> Page:
    page = browser.new_page()
    page.goto(f"{shop}?secret={intent.client_secret}")
    expect(page.get_by_label("Card number")).to_be_visible()
    return page


def fill_card(page: Page, number: str, expiry: str = "12 / 34", cvc: str = "123") -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry (MM / YY)").fill(expiry)
    page.get_by_label("CVC").fill(cvc)
    page.get_by_label("Postcode").fill("2000")


def test_pays_with_a_good_card(browser, shop, intent, client):
    page = open_page(browser, shop, intent)
    fill_card(page, "4242 4242 4242 4242")
    assert page.evaluate("window.changes.at(-1).complete") is True
    page.screenshot(path=screenshot_path("sandbox-shim-card-filled"))
    page.get_by_role("button", name="Pay A$45.00").click()
    expect(page.get_by_role("status")).to_have_text("Payment succeeded")
    page.screenshot(path=screenshot_path("sandbox-shim-paid"))
    pi = client.v1.payment_intents.retrieve(intent.id, {"expand": ["latest_charge"]}, HARBOUR)
    assert pi.status == "succeeded" and pi.receipt_email == "pat@example.com"
    assert pi.latest_charge.payment_method_details.card.last4 == "4242"
    assert page.evaluate("window.lastIntent.id") == intent.id
    secret = json.dumps(intent.client_secret)
    retrieved = page.evaluate(
        f"stripe.retrievePaymentIntent({secret}).then(r => r.paymentIntent.status)"
    )
    assert retrieved == "succeeded"
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


def test_three_d_secure_complete(browser, shop, intent, client):
    page = open_page(browser, shop, intent)
    fill_card(page, "4000002500003155")
    page.get_by_role("button", name="Pay A$45.00").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Fail")).to_be_visible()
    page.screenshot(path=screenshot_path("sandbox-shim-3ds-challenge"))
    dialog.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("status")).to_have_text("Payment succeeded")
    assert client.v1.payment_intents.retrieve(intent.id, options=HARBOUR).status == "succeeded"
    page.close()


def test_three_d_secure_fail(browser, shop, intent, client):
    page = open_page(browser, shop, intent)
    fill_card(page, "4000002500003155")
    page.get_by_role("button", name="Pay A$45.00").click()
    page.get_by_role("dialog").get_by_role("button", name="Fail").click()
    expect(page.locator("#error")).to_contain_text("unable to authenticate")
    assert page.evaluate("window.lastError.code") == "payment_intent_authentication_failure"
    pi = client.v1.payment_intents.retrieve(intent.id, options=HARBOUR)
    assert pi.status == "requires_payment_method"
    page.close()


def test_validation_messages(browser, shop, intent, client):
    page = open_page(browser, shop, intent)
    number = page.get_by_label("Card number")
    number.fill("4242 42")
    page.get_by_label("CVC").focus()
    expect(page.get_by_text("Your card number is incomplete.")).to_be_visible()
    assert number.get_attribute("aria-invalid") == "true"
    number.fill("4242 4242 4242 4241")
    expect(page.get_by_text("Your card number is invalid.")).to_be_visible()
    change = page.evaluate("window.changes.at(-1)")
    assert change["complete"] is False and change["empty"] is False
    assert change["error"]["message"] == "Your card number is invalid."
    page.get_by_label("Expiry (MM / YY)").fill("01 / 20")
    page.get_by_label("Postcode").focus()
    expect(page.get_by_text("Your card's expiration date is in the past.")).to_be_visible()
    page.get_by_role("button", name="Pay A$45.00").click()
    expect(page.get_by_text("Your card's security code is incomplete.")).to_be_visible()
    expect(page.get_by_text("Your postcode is incomplete.")).to_be_visible()
    page.screenshot(path=screenshot_path("sandbox-shim-validation"))
    assert client.v1.payment_intents.retrieve(intent.id, options=HARBOUR).status == (
        "requires_payment_method"
    )
    page.evaluate("element.unmount()")
    expect(page.get_by_label("Card number")).to_have_count(0)
    page.close()
