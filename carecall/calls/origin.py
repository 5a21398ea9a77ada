"""Websocket Origin check that says why it refused.

Channels' AllowedHostsOriginValidator refuses at the handshake, and a refused handshake carries
no close code or reason. Ours accepts, then closes with 4403 "origin not allowed", like every
other refusal of ours (docs/calls.md).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from channels.security.websocket import OriginValidator
from django.conf import settings

ORIGIN_REFUSED_CODE = 4403
ORIGIN_REFUSED_REASON = "origin not allowed"


async def _refuse(receive: Any, send: Any) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send(
        {"type": "websocket.close", "code": ORIGIN_REFUSED_CODE, "reason": ORIGIN_REFUSED_REASON}
    )


class AllowedHostsOriginCloser(OriginValidator):
    """Only pages served from one of ALLOWED_HOSTS (read per connection) may open websockets."""

    def __init__(self, application: Any) -> None:
        super().__init__(application, [])

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            return await self.application(scope, receive, send)
        allowed = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed:
            allowed = ["localhost", "127.0.0.1", "[::1]"]
        self.allowed_origins = allowed
        parsed = None
        for name, value in scope.get("headers", []):
            if name == b"origin":
                try:
                    parsed = urlparse(value.decode("latin1"))
                except (UnicodeDecodeError, ValueError):
                    parsed = None
        if self.valid_origin(parsed):
            return await self.application(scope, receive, send)
        return await _refuse(receive, send)
