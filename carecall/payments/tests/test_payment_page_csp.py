"""The payer's page may load Stripe.js and its frames and nothing else new; others stay strict."""

from __future__ import annotations

import pytest
from django.test import Client

from carecall.calls import services as calls
from carecall.clinic_apps.models import AppKey, ClinicApp, ClinicAppStatus
from testsupport.world import World


def _policy(world: World) -> str:
    _visit, token = calls.visit_create(
        clinic=world.harbour, first_name="Pat", last_name="Jones", phone="", accepted_terms=True
    )
    return Client().get(f"/v/{token}/")["Content-Security-Policy"]


def _directive(policy: str, name: str) -> list[str]:
    for part in policy.split(";"):
        words = part.split()
        if words and words[0] == name:
            return words[1:]
    return []


@pytest.mark.django_db
def test_with_the_payment_gateway_the_visit_page_allows_exactly_stripes_origins(
    world: World, settings
) -> None:
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    ClinicApp.objects.create(
        clinic=world.harbour, app=AppKey.PAYMENT_GATEWAY, status=ClinicAppStatus.ENABLED
    )
    policy = _policy(world)
    assert _directive(policy, "script-src")[-2:] == [
        "https://js.stripe.com",
        "https://*.js.stripe.com",
    ]
    assert set(_directive(policy, "connect-src")) == {
        "'self'",
        "https://api.stripe.com",
        "https://js.stripe.com",
    }
    assert set(_directive(policy, "frame-src")) == {
        "https://js.stripe.com",
        "https://*.js.stripe.com",
        "https://hooks.stripe.com",
    }
    # Nothing else is loosened.
    assert _directive(policy, "style-src") == ["'self'"]
    assert _directive(policy, "img-src") == ["'self'", "data:"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.django_db
def test_without_the_payment_gateway_the_visit_page_allows_no_stripe_origin(
    world: World,
) -> None:
    policy = _policy(world)
    assert "stripe" not in policy
    assert _directive(policy, "script-src")[:1] == ["'self'"]


@pytest.mark.django_db
def test_the_sandbox_origin_replaces_stripes_offline(world: World, settings) -> None:
    settings.STRIPE_JS_URL = "http://127.0.0.1:9999/v3/"
    settings.STRIPE_API_BASE = "http://127.0.0.1:9999"
    ClinicApp.objects.create(
        clinic=world.harbour, app=AppKey.PAYMENT_GATEWAY, status=ClinicAppStatus.ENABLED
    )
    policy = _policy(world)
    assert "http://127.0.0.1:9999" in _directive(policy, "script-src")
    # The shim mounts the Payment Element and 3-D Secure as iframes from the sandbox's own
    # origin: frame-src is that origin and nothing else (the browser tests load them for real).
    assert _directive(policy, "frame-src") == ["http://127.0.0.1:9999"]
    assert set(_directive(policy, "connect-src")) == {"'self'", "http://127.0.0.1:9999"}
    assert "stripe.com" not in policy
