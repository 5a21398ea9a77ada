"""Whose address a sign-in lockout counts, and the per-account backoff beside it.

The address is `client_address` (one setting, `PROXY_COUNT`): with nothing in front it is the
connecting peer and X-Forwarded-For, which the client writes, is ignored; behind N proxies it is
the Nth entry from the right, the one the outermost proxy saw. So a client cannot pick a fresh
lockout address per try. Someone with many real addresses meets the account's backoff."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carecall.accounts.lockout import account_backoff_remaining
from carecall.core.client_address import client_address_from
from testsupport.world import PASSWORD, World

pytestmark = pytest.mark.django_db

CLIENT = "203.0.113.7"
PROXY = "10.0.0.2"


def _sign_in(client: Client, email: str, password: str, forwarded_for: str | None = None) -> Any:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    return client.post(
        reverse("accounts:sign_in"), {"username": email, "password": password}, headers=headers
    )


# ------------------------------------------------------------------ the address itself


@pytest.mark.parametrize(
    ("remote", "forwarded", "proxies", "expected"),
    [
        (CLIENT, None, 0, CLIENT),
        (CLIENT, "198.51.100.1", 0, CLIENT),  # nothing in front: the header is the client's
        (PROXY, f"198.51.100.1, {CLIENT}", 1, CLIENT),  # the entry the proxy appended
        (PROXY, CLIENT, 1, CLIENT),
        (PROXY, f"1.1.1.1, 2.2.2.2, {CLIENT}, 10.0.0.9", 2, CLIENT),  # CDN then nginx
        (PROXY, CLIENT, 2, CLIENT),  # fewer entries than proxies: the leftmost, a proxy's
        (PROXY, "not-an-address", 1, PROXY),  # garbage from a proxy: its own address, shared
        (PROXY, "", 1, PROXY),
        (PROXY, f"{CLIENT}:51234", 1, CLIENT),  # a port some proxies add
        (PROXY, "[2001:DB8:0::1]:443", 1, "2001:db8::1"),  # one spelling per address
        (PROXY, f"{CLIENT}\x00", 1, PROXY),
    ],
)
def test_the_client_address_is_the_peer_or_the_entry_the_outermost_proxy_wrote(
    remote: str, forwarded: str | None, proxies: int, expected: str
) -> None:
    assert (
        client_address_from(remote_addr=remote, forwarded_for=forwarded, proxy_count=proxies)
        == expected
    )


def test_axes_counts_by_client_address(settings: Any) -> None:
    assert settings.AXES_CLIENT_IP_CALLABLE == "carecall.core.client_address.client_address"
    assert settings.AXES_HANDLER == "carecall.accounts.lockout.AccountBackoffAxesHandler"


def test_carecall_serve_leaves_remote_addr_as_the_connecting_peer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """uvicorn's own proxy headers would rewrite REMOTE_ADDR from X-Forwarded-For for any peer
    in FORWARDED_ALLOW_IPS (127.0.0.1 by default): a client on the host picking its address."""
    import uvicorn

    from carecall import cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    cli._serve(port=8123, reload=False)
    assert seen["proxy_headers"] is False
    assert "forwarded_allow_ips" not in seen


def test_forwarded_allow_ips_is_refused_with_a_message_naming_proxy_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib

    from config import env

    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    monkeypatch.setenv("SECRET_KEY", "k" * 60)
    monkeypatch.setenv("ALLOWED_HOSTS", "example.test")
    monkeypatch.setenv("SITE_URL", "https://example.test")
    import config.settings as production

    with pytest.raises(env.EnvError, match="PROXY_COUNT"):
        importlib.reload(production)
    monkeypatch.undo()  # the suite's own environment again, and the module as it was
    importlib.reload(production)


# ------------------------------------------------------------------ spoofing the lockout


def test_a_forged_x_forwarded_for_cannot_choose_a_fresh_lockout_address(world: World) -> None:
    """No proxy in front (PROXY_COUNT=0): five tries, each claiming another address, are five
    tries from the one address that connected."""
    client = Client(REMOTE_ADDR=CLIENT)
    for n in range(4):
        response = _sign_in(client, world.clinician.email, "wrong", f"198.51.100.{n}")
        assert response.status_code == 400
    locked = _sign_in(client, world.clinician.email, "wrong", "198.51.100.99")
    assert locked.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT}
    # Still locked with the right password, whatever address it claims next.
    assert _sign_in(client, world.clinician.email, PASSWORD, "192.0.2.1").status_code == 429


def test_behind_one_proxy_the_lock_is_on_the_address_the_proxy_saw(
    world: World, settings: Any
) -> None:
    settings.PROXY_COUNT = 1
    attacker = Client(REMOTE_ADDR=PROXY)
    for n in range(4):
        # The client writes the left part; the proxy appends the address it saw.
        response = _sign_in(attacker, world.clinician.email, "wrong", f"198.51.100.{n}, {CLIENT}")
        assert response.status_code == 400
    assert _sign_in(attacker, world.clinician.email, "wrong", CLIENT).status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT}
    # Another person behind the same proxy is not locked out of the same account.
    colleague = Client(REMOTE_ADDR=PROXY)
    assert _sign_in(colleague, world.clinician.email, PASSWORD, "192.0.2.44").status_code == 302


def test_behind_one_proxy_a_forged_left_entry_is_not_the_address(
    world: World, settings: Any
) -> None:
    """The attacker claims the victim's address on the left; the lock lands on the attacker."""
    settings.PROXY_COUNT = 1
    victim = "192.0.2.44"
    for _ in range(5):
        _sign_in(Client(REMOTE_ADDR=PROXY), world.clinician.email, "wrong", f"{victim}, {CLIENT}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT}
    assert (
        _sign_in(Client(REMOTE_ADDR=PROXY), world.clinician.email, PASSWORD, victim).status_code
        == 302
    )


# ------------------------------------------------------------------ the per-account backoff


def _fail_from_many_addresses(world: World, count: int) -> None:
    for n in range(count):
        response = _sign_in(Client(REMOTE_ADDR=f"198.51.100.{n + 1}"), world.clinician.email, "x")
        assert response.status_code == 400, n


def _age_attempts(by: timedelta) -> None:
    for attempt in AccessAttempt.objects.all():
        AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=attempt.attempt_time - by)


def test_many_addresses_meet_the_accounts_backoff_which_says_how_long(
    world: World, settings: Any
) -> None:
    settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT = 6
    _fail_from_many_addresses(world, 6)  # one wrong password from each of six addresses

    fresh = Client(REMOTE_ADDR="192.0.2.200")
    refused = _sign_in(fresh, world.clinician.email, PASSWORD)

    assert refused.status_code == 429
    text = refused.content.decode()
    assert "paused for a while" in text and "Try again in 1 minute" in text
    assert "_auth_user_id" not in fresh.session
    # A refused try is not a failure: waiting it out is enough.
    assert sum(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == 6
    # Another account is not affected.
    assert _sign_in(fresh, world.clinic_admin.email, PASSWORD).status_code == 302


def test_the_backoff_doubles_with_each_failure_past_the_limit_up_to_the_lockout(
    world: World, settings: Any
) -> None:
    settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT = 6
    _fail_from_many_addresses(world, 6)
    now = timezone.now()
    email = world.clinician.email
    assert account_backoff_remaining(username=email, now=now) == pytest.approx(
        timedelta(minutes=1), abs=timedelta(seconds=5)
    )
    _age_attempts(timedelta(minutes=1, seconds=1))
    assert account_backoff_remaining(username=email) is None
    # The wait is over: a seventh wrong password waits 2 minutes, an eighth 4 ...
    assert _sign_in(Client(REMOTE_ADDR="192.0.2.7"), email, "x").status_code == 400
    wait = account_backoff_remaining(username=email)
    assert wait is not None and timedelta(minutes=1) < wait <= timedelta(minutes=2)
    AccessAttempt.objects.update(failures_since_start=6 + 30)
    wait = account_backoff_remaining(username=email)
    assert wait is not None and wait <= settings.AXES_COOLOFF_TIME


def test_after_the_backoff_the_right_password_signs_in(world: World, settings: Any) -> None:
    settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT = 6
    _fail_from_many_addresses(world, 6)
    _age_attempts(timedelta(minutes=2))
    assert (
        _sign_in(Client(REMOTE_ADDR="192.0.2.9"), world.clinician.email, PASSWORD).status_code
        == 302
    )


def test_failures_older_than_the_lockout_window_do_not_count(world: World, settings: Any) -> None:
    settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT = 6
    _fail_from_many_addresses(world, 6)
    _age_attempts(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))
    assert account_backoff_remaining(username=world.clinician.email) is None


def test_below_the_account_limit_only_the_address_lock_applies(world: World) -> None:
    _fail_from_many_addresses(world, 5)  # default limit 20
    assert account_backoff_remaining(username=world.clinician.email) is None
    assert (
        _sign_in(Client(REMOTE_ADDR="192.0.2.9"), world.clinician.email, PASSWORD).status_code
        == 302
    )


# ------------------------------------------------------------------ through the real server


def _serve_options(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The uvicorn options `carecall serve` uses, without serving."""
    import uvicorn

    from carecall import cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    cli._serve(port=0, reload=False)
    monkeypatch.undo()
    return seen


@pytest.mark.django_db(transaction=True)
def test_through_carecall_serves_uvicorn_a_forged_x_forwarded_for_locks_the_real_peer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """From 127.0.0.1 (where uvicorn's proxy headers trusted X-Forwarded-For by default) five
    wrong passwords, each claiming another address, lock the sign-in."""
    import http.client
    import re
    import threading
    import time

    import uvicorn

    from testsupport.services import free_port
    from testsupport.world import make_user

    user = make_user("lock@example.test", "Lock Test")
    from django.db import connections

    options = _serve_options(monkeypatch)
    # The server's threads close their connections after each request (kept ones would block
    # dropping the PostgreSQL test database).
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    port = free_port()
    config = uvicorn.Config(
        "config.asgi:application",
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        proxy_headers=options["proxy_headers"],
        **(
            {"forwarded_allow_ips": options["forwarded_allow_ips"]}
            if "forwarded_allow_ips" in options
            else {}
        ),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/accounts/sign-in/")
        page = conn.getresponse()
        body = page.read().decode()
        cookie = re.search(r"csrftoken=([^;]+)", page.getheader("Set-Cookie") or "")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        assert cookie and token
        statuses = []
        for n in range(5):
            form = f"csrfmiddlewaretoken={token.group(1)}&username={user.email}&password=wrong"
            conn.request(
                "POST",
                "/accounts/sign-in/",
                body=form,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": f"csrftoken={cookie.group(1)}",
                    "X-Forwarded-For": f"198.51.100.{n + 1}",
                },
            )
            reply = conn.getresponse()
            reply.read()
            statuses.append(reply.status)
        assert statuses == [400, 400, 400, 400, 429]
        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}
    finally:
        server.should_exit = True
        thread.join(timeout=10)
