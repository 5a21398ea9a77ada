"""Stripe sandbox + SMTP wiring for the payment browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe_sandbox
from testsupport.smtp import SmtpServer


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
