"""Throttles per client address and per token, and a debounce, on Django's cache.

`rate_limited(group, limits, ...)` decorates a view. Each `Limit` names what it counts by (the
client address from `carecall.core.client_address`, a link's token, an email, the signed-in
user) and the setting holding its rate; django-ratelimit counts the requests in Django's cache
(Redis when `REDIS_URL` is set, so every process shares the counts; this process's memory
otherwise). A request past any limit is answered 429 before the view runs, so it changes
nothing, with a message saying how long to wait: a page for pages, `{"error": ...}` for JSON
endpoints, and `Retry-After` either way.

The cache failing (Redis down) lets the request through and logs a warning: a throttle guards
against abuse, it must not take the site down with it.

`debounce_begin` / `debounce_end`: at most one of a kind of call in a short window (the payer's
`complete`, which asks Stripe).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django_ratelimit.core import get_usage

from carecall.core.client_address import client_address
from carecall.core.templatetags.carecall import duration_words

logger = logging.getLogger(__name__)

# What a limit counts by: the request and the view's URL arguments give the value, or None
# when this limit does not apply to the request.
KeyOf = Callable[[HttpRequest, Mapping[str, Any]], str | None]


def address_key(request: HttpRequest, kwargs: Mapping[str, Any]) -> str:
    """The client address (`PROXY_COUNT`); an IPv6 address counts by its /64, which is what
    one customer gets (they could otherwise take a fresh address per request)."""
    address = client_address(request) or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


def user_key(request: HttpRequest, kwargs: Mapping[str, Any]) -> str | None:
    return f"user:{request.user.pk}" if request.user.is_authenticated else None


def url_token_key(request: HttpRequest, kwargs: Mapping[str, Any]) -> str | None:
    """The link's token from the URL (with its kind, `v` or `j`, where there is one)."""
    token = kwargs.get("token")
    return f"{kwargs.get('kind', '')}:{token}" if token else None


@dataclass(frozen=True)
class Limit:
    name: str  # "address", "token", ...: part of the counter's name
    key: KeyOf
    setting: str  # the settings name holding the rate, e.g. "RATE_LIMIT_ENTRY_PER_ADDRESS"


def per_address(setting: str) -> Limit:
    return Limit("address", address_key, setting)


def per_user(setting: str) -> Limit:
    return Limit("user", user_key, setting)


def per_url_token(setting: str) -> Limit:
    return Limit("token", url_token_key, setting)


def rate_limit_wait(
    request: HttpRequest, *, group: str, limits: Sequence[Limit], kwargs: Mapping[str, Any]
) -> int | None:
    """Count this request against every limit that applies; the seconds to wait when it is past
    one of them, else None."""
    waits: list[int] = []
    for limit in limits:
        value = limit.key(request, kwargs)
        if value is None:
            continue
        rate = getattr(settings, limit.setting)
        try:
            usage = get_usage(
                request,
                group=f"{group}:{limit.name}",
                key=lambda _group, _request, value=value: value,
                rate=rate,
                method=[str(request.method)],
                increment=True,
            )
        except Exception as error:  # the cache is down: let the request through
            logger.warning("rate limit %s not checked (cache: %s)", group, error)
            return None
        if usage is not None and usage["should_limit"]:
            waits.append(max(1, int(usage["time_left"])))
    if waits:
        # Not the path: it may hold a link's token.
        logger.warning("rate limit %s: refused a %s", group, request.method)
        return max(waits)
    return None


def too_many_requests(
    request: HttpRequest, *, message: str | Promise, wait: int, answer: Literal["page", "json"]
) -> HttpResponse:
    """429 with `message` (which may say `%(wait)s`), as a page or as a JSON error."""
    # Whole minutes, rounded up: told "2 minutes", nobody should be refused again after two.
    text = str(message) % {"wait": duration_words(timedelta(minutes=math.ceil(wait / 60)))}
    response: HttpResponse
    if answer == "json":
        response = JsonResponse({"error": text, "retry_after": wait}, status=429)
    else:
        response = render(request, "core/too_many_requests.html", {"message": text}, status=429)
    response["Retry-After"] = str(wait)
    return response


def rate_limited(
    group: str,
    limits: Sequence[Limit],
    *,
    message: str | Promise,
    methods: Sequence[str] = ("POST",),
    answer: Literal["page", "json"] = "page",
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Refuse requests past any of `limits` (only those with one of `methods`) with 429."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in methods:
                wait = rate_limit_wait(request, group=group, limits=limits, kwargs=kwargs)
                if wait is not None:
                    return too_many_requests(request, message=message, wait=wait, answer=answer)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def debounce_begin(*, key: str, seconds: int) -> bool:
    """True when no call of `key` began in the last `seconds` (this one now holds the window);
    False: one did, answer without doing the work again. A cache that is down says True."""
    try:
        return bool(cache.add(f"debounce:{key}", 1, timeout=seconds))
    except Exception as error:
        logger.warning("debounce %s not checked (cache: %s)", key, error)
        return True


def debounce_end(*, key: str) -> None:
    """Open the window again (the work failed, or something new happened since)."""
    try:
        cache.delete(f"debounce:{key}")
    except Exception as error:
        logger.warning("debounce %s not cleared (cache: %s)", key, error)
