"""Fixtures for the payment tests.

One `stripe_sandbox` per test session, reset before each test, with Django's Stripe settings
pointed at it. The sandbox delivers its Connect webhooks, signed with our webhook secret, to a
small recorder, so tests can replay real deliveries into our endpoint (and tamper with them).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from channels.layers import channel_layers
from django.conf import settings as django_settings

import stripe_sandbox
from carecall.calls.presence import heartbeats
from carecall.calls.realtime import hub
from carecall.payments.tests.helpers import Call, connect_clinic, enable_payment_gateway, start_call
from carecall.payments.tests.webhook_recorder import WebhookRecorder
from testsupport.world import World


@pytest.fixture(scope="session")
def webhook_recorder() -> Iterator[WebhookRecorder]:
    recorder = WebhookRecorder()
    yield recorder
    recorder.stop()


@pytest.fixture(scope="session")
def sandbox_server(webhook_recorder: WebhookRecorder) -> Iterator[stripe_sandbox.SandboxServer]:
    with stripe_sandbox.start(
        port=0,
        webhook_endpoints=[
            {
                "url": webhook_recorder.url,
                "secret": django_settings.STRIPE_WEBHOOK_SECRET,
                "connect": True,
            }
        ],
        webhook_backoff_seconds=0.05,
        webhook_max_attempts=2,
        webhook_timeout_seconds=2.0,
    ) as server:
        yield server


@pytest.fixture
def sandbox(
    sandbox_server: stripe_sandbox.SandboxServer, webhook_recorder: WebhookRecorder, settings: Any
) -> stripe_sandbox.SandboxServer:
    """A sandbox back at its seed, with CareCall's Stripe settings pointing at it."""
    # Let deliveries of the previous test land first, so none arrives after the recorder is
    # cleared.
    sandbox_server.wait_for_webhooks(5)
    sandbox_server.reset()
    webhook_recorder.clear()
    settings.STRIPE_API_BASE = sandbox_server.url
    settings.STRIPE_CONNECT_BASE = sandbox_server.url
    settings.STRIPE_JS_URL = sandbox_server.shim_url
    # Fault tests switch retries on where they matter; elsewhere a failure should show at once.
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    return sandbox_server


@pytest.fixture
def webhooks(
    sandbox: stripe_sandbox.SandboxServer, webhook_recorder: WebhookRecorder
) -> WebhookRecorder:
    return webhook_recorder


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    """Each test starts with no live members, heartbeats or channel layer (nothing carries
    over between tests' event loops)."""
    hub.reset()
    heartbeats.reset()
    channel_layers.backends.clear()
    yield
    hub.reset()
    heartbeats.reset()
    channel_layers.backends.clear()


@pytest.fixture
def connected(world: World, sandbox: stripe_sandbox.SandboxServer) -> World:
    """Harbour GP has the Payment Gateway (approved by the operator) and its Stripe account
    connected through Connect OAuth (a real code from the sandbox's consent form)."""
    enable_payment_gateway(world, world.harbour)
    connect_clinic(world, sandbox, world.harbour, stripe_sandbox.HARBOUR_GP_ACCOUNT_ID)
    world.harbour.refresh_from_db()
    return world


@pytest.fixture
def call(connected: World) -> Call:
    """Pat Jones is in a call with Harbour GP's clinician."""
    return start_call(connected)
