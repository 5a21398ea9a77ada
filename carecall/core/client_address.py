"""The address of the person making a request: the one setting `PROXY_COUNT` decides it.

Sign-in lockout (django-axes, `AXES_CLIENT_IP_CALLABLE`) and any rate limit by address use
`client_address`; nothing else reads `X-Forwarded-For`. The server (`carecall serve`, uvicorn)
is started without proxy headers, so `REMOTE_ADDR` is always the peer that connected.

- `PROXY_COUNT=0` (the default): nothing is in front; the address is `REMOTE_ADDR`, and an
  `X-Forwarded-For` header, written by the client, is ignored.
- `PROXY_COUNT=N`: N reverse proxies are in front, each appending the address it saw to
  `X-Forwarded-For`. The client's address is the one the outermost proxy saw: the Nth entry from
  the right. Entries further left were sent by the client and are never used, so no header a
  client writes can choose its address. With fewer entries than proxies, the leftmost (written
  by a proxy) is used; an entry that is not an IP address falls back to `REMOTE_ADDR`.

The proxies must be the only way in: a client that reaches the app around them could write the
entries the proxies would have.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(value: str) -> str | None:
    """An IP address in its one canonical spelling, or None (a port or brackets are dropped)."""
    text = value.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.5:443"
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_address_from(
    *, remote_addr: str | None, forwarded_for: str | None, proxy_count: int
) -> str | None:
    """The client's address from the connecting peer and the X-Forwarded-For header."""
    peer = _address(remote_addr) if remote_addr else None
    peer = peer or remote_addr or None
    if proxy_count <= 0 or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    if not hops:
        return peer
    chosen = hops[-proxy_count] if len(hops) >= proxy_count else hops[0]
    return _address(chosen) or peer


def client_address(request: HttpRequest) -> str | None:
    """The address lockouts and rate limits count by (see the module's docstring)."""
    return client_address_from(
        remote_addr=request.META.get("REMOTE_ADDR"),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
        proxy_count=settings.PROXY_COUNT,
    )
