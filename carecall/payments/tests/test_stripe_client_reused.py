"""One Stripe client per process (issue 10, item 5): calls share one `StripeClient` and reuse
its keep-alive HTTP connection instead of building a client and opening a connection each."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import urllib3.util.connection

import stripe_sandbox
from carecall.payments import stripe_gateway
from carecall.payments.gateway import get_gateway
from testsupport.world import World


def _sandbox_port(sandbox: stripe_sandbox.SandboxServer) -> int:
    return int(sandbox.url.rsplit(":", 1)[1].strip("/"))


@pytest.fixture
def connections_opened(
    sandbox: stripe_sandbox.SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, int]]:
    """Every TCP connection an HTTP client (urllib3, under requests) opens to the sandbox."""
    opened: list[tuple[str, int]] = []
    real = urllib3.util.connection.create_connection

    def counting(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        if address[1] == _sandbox_port(sandbox):
            opened.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", counting)
    stripe_gateway._forget_clients()  # a client made by an earlier test holds a connection
    return opened


def test_two_calls_share_one_client_and_one_connection(
    connected: World, connections_opened: list[tuple[str, int]]
) -> None:
    account = connected.harbour.stripe_connection.account_id

    first = get_gateway().account_retrieve(account_id=account)
    client = stripe_gateway._client()
    second = get_gateway().account_retrieve(account_id=account)

    assert first == second
    assert len(connections_opened) == 1, connections_opened
    assert stripe_gateway._client() is client


def test_threads_starting_at_once_build_one_client(
    connected: World, connections_opened: list[tuple[str, int]]
) -> None:
    start = threading.Barrier(8)
    got: list[object] = []

    def take() -> None:
        start.wait(5)
        got.append(stripe_gateway._client())

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)

    assert len(got) == 8
    assert len({id(client) for client in got}) == 1


def test_other_settings_get_their_own_client(connected: World, settings: Any) -> None:
    client = stripe_gateway._client()
    before = settings.STRIPE_TIMEOUT_SECONDS
    settings.STRIPE_TIMEOUT_SECONDS = before + 1

    other = stripe_gateway._client()
    settings.STRIPE_TIMEOUT_SECONDS = before

    assert other is not client
    assert stripe_gateway._client() is client
