"""A websocket to a path no route serves is closed with 4404 and a reason, not a 500."""

from __future__ import annotations

import pytest

from carecall.calls.tests.ws import Sockets

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.mark.parametrize(
    "path",
    [
        "/ws/nowhere/",
        "/ws/",
        "/",
        "/ws/calls/not-a-uuid/",
        "/ws/clinics/not-a-number/waiting-area/",
        "/ws/visits/",
        "/ws/calls/00000000-0000-0000-0000-000000000000/extra/",
    ],
)
async def test_an_unknown_websocket_path_is_closed_with_4404(sockets: Sockets, path: str) -> None:
    assert await sockets.new(path).refused() == (4404, "no such websocket")


async def test_a_foreign_origin_on_an_unknown_path_is_still_refused_as_a_foreign_origin(
    sockets: Sockets,
) -> None:
    assert await sockets.new("/ws/nowhere/", origin=b"http://evil.example").refused() == (
        4403,
        "origin not allowed",
    )
