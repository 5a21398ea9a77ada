"""The waiting area's entry page is throttled per client address: a burst of visits from one
address is refused with a page saying how long to wait, and starts no visit."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from carecall.calls.models import Visit
from testsupport.world import World

pytestmark = pytest.mark.django_db

DETAILS = {"first_name": "Pat", "last_name": "Jones", "phone": "", "accept_terms": "on"}


def _enter(client: Client) -> Any:
    return client.post(reverse("calls:entry", args=["harbour-gp"]), DETAILS)


def test_visits_past_the_address_limit_get_429_with_a_page_and_start_no_visit(
    world: World, settings: Any
) -> None:
    settings.RATE_LIMIT_ENTRY_PER_ADDRESS = "3/5m"
    here = Client(REMOTE_ADDR="203.0.113.5")
    for _ in range(3):
        assert _enter(here).status_code == 302
    assert Visit.objects.count() == 3

    refused = _enter(here)

    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("text/html")
    assert 0 < int(refused["Retry-After"]) <= 5 * 60 + 5
    html = refused.content.decode()
    assert "Many visits were started from your connection in the last few minutes" in html
    assert "try again in " in html and " minute" in html
    assert Visit.objects.count() == 3
    # Another address is not affected; the page itself still opens from this one.
    assert _enter(Client(REMOTE_ADDR="198.51.100.7")).status_code == 302
    assert here.get(reverse("calls:entry", args=["harbour-gp"])).status_code == 200


def test_a_forged_forwarded_for_does_not_escape_the_address_limit(
    world: World, settings: Any
) -> None:
    settings.RATE_LIMIT_ENTRY_PER_ADDRESS = "2/5m"
    for n in range(2):
        assert _enter(Client(HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")).status_code == 302
    assert _enter(Client(HTTP_X_FORWARDED_FOR="10.0.0.9")).status_code == 429
    assert Visit.objects.count() == 2


def test_behind_a_proxy_each_client_address_counts_on_its_own(world: World, settings: Any) -> None:
    settings.PROXY_COUNT = 1
    settings.RATE_LIMIT_ENTRY_PER_ADDRESS = "1/5m"
    proxy = "192.0.2.1"
    assert _enter(Client(HTTP_X_FORWARDED_FOR="203.0.113.5", REMOTE_ADDR=proxy)).status_code == 302
    assert _enter(Client(HTTP_X_FORWARDED_FOR="198.51.100.7", REMOTE_ADDR=proxy)).status_code == 302
    assert _enter(Client(HTTP_X_FORWARDED_FOR="203.0.113.5", REMOTE_ADDR=proxy)).status_code == 429
    assert Visit.objects.count() == 2


def test_ipv6_clients_count_by_their_64_prefix(world: World, settings: Any) -> None:
    settings.RATE_LIMIT_ENTRY_PER_ADDRESS = "1/5m"
    assert _enter(Client(REMOTE_ADDR="2001:db8:1:2::10")).status_code == 302
    # Another address of the same /64 (what one customer gets) shares its count...
    assert _enter(Client(REMOTE_ADDR="2001:db8:1:2:ffff::1")).status_code == 429
    # ...another /64 does not.
    assert _enter(Client(REMOTE_ADDR="2001:db8:1:3::10")).status_code == 302
    assert Visit.objects.count() == 2


def test_at_the_default_limit_a_person_entering_normally_is_never_refused(world: World) -> None:
    """The demo stays usable: entering, leaving and entering again a few times in a row."""
    client = Client()
    for _ in range(5):
        assert _enter(client).status_code == 302


def test_rate_limits_switched_off_refuse_nothing(world: World, settings: Any) -> None:
    """RATE_LIMITS=false (django-ratelimit's RATELIMIT_ENABLE), for load benchmarks."""
    settings.RATE_LIMIT_ENTRY_PER_ADDRESS = "1/5m"
    settings.RATELIMIT_ENABLE = False
    for _ in range(3):
        assert _enter(Client()).status_code == 302
    assert Visit.objects.count() == 3
