"""Huge ids in websocket paths close 4404, as the HTTP side answers 404: every websocket route
(found by walking config.routing, so a new route is covered), each id slot filled with the
largest id the database holds, one past it and 30 digits, as a signed-in org admin."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence

import pytest
from django.urls import URLPattern, URLResolver

from carecall.calls.tests.ws import Sockets, db, session_cookie
from carecall.core.converters import LARGEST_ID
from config import routing
from testsupport.world import World

HUGE = [str(LARGEST_ID), str(LARGEST_ID + 1), "9" * 30]


def _ws_routes(patterns: Sequence[object], prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _ws_routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and str(entry.pattern):  # not the catch-all
            yield prefix + str(entry.pattern)


ROUTES = sorted(_ws_routes(routing.websocket_urlpatterns))


def _path(route: str, number: str) -> str:
    """Every slot of the route filled with `number` (a uuid slot with a fresh uuid, which names
    nothing either)."""
    path = re.sub(r"<(?:id|int|str):\w+>", number, route)
    return "/" + re.sub(r"<uuid:\w+>", str(uuid.uuid4()), path)


def test_every_websocket_route_with_a_number_uses_the_id_converter() -> None:
    assert len(ROUTES) >= 4  # the walk reaches calls' routes
    assert [r for r in ROUTES if "<int:" in r] == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("route", ROUTES)
async def test_a_huge_id_in_a_websocket_path_closes_4404(
    sockets: Sockets, world: World, route: str
) -> None:
    cookie = await db(session_cookie)(world.org_admin)
    for number in HUGE:
        code, reason = await sockets.new(_path(route, number), cookie=cookie).refused()
        assert code == 4404, (route, number, code, reason)
