"""ICE servers for a participant, with TURN REST credentials (coturn's `use-auth-secret`).

username = "<unix expiry>:<participant id>", credential = base64(HMAC-SHA1(TURN_SECRET, username)).
Each participant gets their own, valid for TURN_TTL_SECONDS; a reconnect hands out fresh ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.conf import settings


def turn_credentials(participant_id: str, *, now: float | None = None) -> tuple[str, str]:
    expiry = int((now if now is not None else time.time()) + settings.TURN_TTL_SECONDS)
    username = f"{expiry}:{participant_id}"
    digest = hmac.new(settings.TURN_SECRET.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(participant_id: str) -> list[dict[str, object]]:
    servers: list[dict[str, object]] = []
    if settings.STUN_URLS:
        servers.append({"urls": list(settings.STUN_URLS)})
    if settings.TURN_URLS:
        username, credential = turn_credentials(participant_id)
        servers.append(
            {"urls": list(settings.TURN_URLS), "username": username, "credential": credential}
        )
    return servers
