"""Stripe sandbox + SMTP wiring for the payment browser tests, and card entry as a person does
it: in the Payment Element's cross-origin iframe, and 3-D Secure in its modal iframe (the
sandbox's Stripe.js shim draws both as Stripe.js does; stripe_sandbox/README.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from playwright.sync_api import FrameLocator, Locator, Page, expect

import stripe_sandbox
from testsupport.smtp import SmtpServer

PAYMENT_FRAME = 'iframe[title="Secure payment input frame"]'
CHALLENGE_FRAME = 'iframe[title="3D Secure authentication"]'
CHALLENGE_NAME = "3D Secure authentication"


@contextmanager
def payments_wired(settings: Any, live_url: str) -> Iterator[tuple[Any, SmtpServer]]:
    """Point the live server's Stripe at a fresh sandbox (webhooks back to it) and mail at SMTP."""
    sandbox = stripe_sandbox.start(
        port=0,
        webhook_endpoints=[
            {
                "url": f"{live_url}/payments/stripe/webhook/",
                "secret": settings.STRIPE_WEBHOOK_SECRET,
                "connect": True,
            }
        ],
        webhook_backoff_seconds=0.2,
    )
    settings.STRIPE_API_BASE = sandbox.url
    settings.STRIPE_CONNECT_BASE = sandbox.url
    settings.STRIPE_JS_URL = sandbox.shim_url
    with SmtpServer() as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = smtp.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        try:
            yield sandbox, smtp
        finally:
            sandbox.stop()


def card_fields(page: Page) -> FrameLocator:
    """The Payment Element's frame; find its fields by label, e.g. `.get_by_label("CVC")`."""
    return page.frame_locator(PAYMENT_FRAME)


def fill_card(
    page: Page,
    number: str,
    *,
    expiry: str = "12 / 34",
    cvc: str = "123",
    postcode: str | None = "2000",
) -> None:
    """Type a card into the Payment Element, each field found by its label inside the frame
    (an Australian card: Postcode too; `postcode=None` leaves it as it is)."""
    fields = card_fields(page)
    fields.get_by_label("Card number").fill(number)
    fields.get_by_label("Expiry (MM / YY)").fill(expiry)
    fields.get_by_label("CVC").fill(cvc)
    if postcode is not None:
        fields.get_by_label("Postcode").fill(postcode)


def challenge(page: Page) -> Locator:
    """The 3-D Secure modal over the page (wait on it with `expect(...).to_be_visible()`)."""
    return page.get_by_role("dialog", name=CHALLENGE_NAME)


def challenge_button(page: Page, name: Literal["Complete", "Fail"]) -> Locator:
    return page.frame_locator(CHALLENGE_FRAME).get_by_role("button", name=name)


def three_d_secure(
    page: Page, outcome: Literal["Complete", "Fail"] = "Complete", *, tap: bool = False
) -> None:
    """Wait for the 3-D Secure challenge, press Complete or Fail in its frame (tap on a touch
    screen), and wait for the modal to go."""
    expect(challenge(page)).to_be_visible()
    button = challenge_button(page, outcome)
    if tap:
        button.tap()
    else:
        button.click()
    expect(challenge(page)).to_have_count(0)
