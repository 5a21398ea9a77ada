"""Redis down or stalled holds Django's cache too (the throttles' counts, the payer's complete
debounce): throttled requests go through, a little late at most, and do their work once."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

import stripe_sandbox
from carecall.calls.models import Visit
from carecall.payments.models import PaymentRequest
from carecall.payments.tests.helpers import Call, pay_at_stripe, post_json, request_payment
from testsupport.world import World

pytestmark = pytest.mark.django_db(transaction=True)


def _cache_on(settings: Any, url: str) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},  # as config.settings
        }
    }


@pytest.mark.parametrize("redis", ["redis_stopped", "redis_hung"])
def test_the_entry_page_with_the_cache_on_a_redis_that_is_down_starts_one_visit(
    world: World, settings: Any, redis: str, request: pytest.FixtureRequest
) -> None:
    _cache_on(settings, request.getfixturevalue(redis))
    settings.RATE_LIMIT_ENTRY_PER_ADDRESS = "1/5m"
    started = time.monotonic()
    response = Client().post(
        reverse("calls:entry", args=["harbour-gp"]),
        {"first_name": "Pat", "last_name": "Jones", "phone": "", "accept_terms": "on"},
    )
    assert response.status_code == 302
    assert Visit.objects.count() == 1
    # A stalled Redis costs the throttle's socket timeout, not the request.
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("redis", ["redis_stopped", "redis_hung"])
def test_the_payers_complete_with_the_cache_on_a_redis_that_is_down_still_asks_stripe(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    settings: Any,
    redis: str,
    request: pytest.FixtureRequest,
) -> None:
    pr: PaymentRequest = request_payment(connected, call)
    pay_at_stripe(sandbox, pr)
    _cache_on(settings, request.getfixturevalue(redis))
    answer = post_json(Client(), call.payer_url(pr, "complete"), {})
    assert answer.status_code == 200
    assert answer.json()["request"]["status"] == "paid"
