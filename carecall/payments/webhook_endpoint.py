"""Stripe's webhook URL served straight from ASGI, in front of Django's request handling.

Why (measured, bench/README.md): through Django the URL ran eleven middlewares (sessions,
locale, CSRF, auth, messages, CSP, Axes …) none of which a signed server-to-server POST needs,
and every sync request hopped onto Django's one shared request thread; the barest Django view
doing nothing but verify + insert is itself 5x slower than Starlette at p99. This endpoint
reads the body, hands `webhooks.stripe_webhook_answer` (the same service the Django view calls)
to a small pool of threads with their own persistent database connections, and answers its
JSON. Only the exact path is taken; everything else goes to Django unchanged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.urls import reverse
from django.utils.translation import gettext as _

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Threads that verify and insert. SQLite has one writer, so more threads only queue for its
# lock; PostgreSQL takes inserts side by side.
THREADS_SQLITE = 2
THREADS_OTHER = 4


def _answer(body: bytes, signature: str) -> tuple[int, dict[str, Any]]:
    from carecall.payments.webhooks import stripe_webhook_answer

    # What Django does around each request: drop a connection that broke or grew too old.
    close_old_connections()
    return stripe_webhook_answer(payload=body, signature=signature)


class StripeWebhookEndpoint:
    """ASGI middleware: POST <the webhook path> is answered here, the rest by `app`."""

    def __init__(self, app: ASGIApp, *, threads: int | None = None) -> None:
        self.app = app
        self.path = reverse("payments:stripe_webhook")
        self.max_body = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440
        sqlite = str(settings.DATABASES["default"]["ENGINE"]).endswith("sqlite3")
        self.pool = ThreadPoolExecutor(
            max_workers=threads or (THREADS_SQLITE if sqlite else THREADS_OTHER),
            thread_name_prefix="stripe-webhook",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await _respond(send, 405, {"error": _("Only POST.")}, allow=True)
            return
        body = await self._body(receive)
        if body is None:
            await _respond(send, 413, {"error": _("The body is too large.")})
            return
        signature = ""
        for name, value in scope.get("headers", []):
            if name == b"stripe-signature":
                signature = value.decode("latin-1")
                break
        loop = asyncio.get_running_loop()
        status, answer = await loop.run_in_executor(self.pool, _answer, body, signature)
        await _respond(send, status, answer)

    async def _body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


async def _respond(send: Send, status: int, answer: dict[str, Any], allow: bool = False) -> None:
    content = json.dumps(answer).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    if allow:
        headers.append((b"allow", b"POST"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
