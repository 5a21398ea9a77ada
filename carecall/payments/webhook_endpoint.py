"""Stripe's webhook URL served straight from ASGI, in front of Django's request handling.

Why (measured, bench/README.md): through Django the URL ran eleven middlewares (sessions,
locale, CSRF, auth, messages, CSP, Axes …) none of which a signed server-to-server POST needs,
and every sync request hopped onto Django's one shared request thread; the barest Django view
doing nothing but verify + insert is itself 5x slower than Starlette at p99. This endpoint
reads the body and verifies it in the event loop (an HMAC and a JSON parse: tens of
microseconds), then hands the event to one writer thread which stores whatever has arrived
meanwhile in one transaction (`webhooks.stripe_webhook_store_answers`: a group commit, so under
load SQLite's write lock is taken once per batch, not once per event behind the workers'
writes), and answers each request its JSON: exactly what the Django view answers. Only the
exact path is taken; everything else goes to Django unchanged."""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.urls import reverse
from django.utils.translation import gettext as _

from carecall.payments.gateway import WebhookEvent

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Answer = tuple[int, dict[str, Any]]
Waiting = tuple[WebhookEvent, asyncio.AbstractEventLoop, "asyncio.Future[Answer]"]

# At most this many events per transaction.
BATCH = 64


class InboxWriter:
    """One thread storing the events handed to it, batch by batch, on its own persistent
    database connection."""

    def __init__(self) -> None:
        self.waiting: queue.SimpleQueue[Waiting | threading.Event] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="stripe-webhook-writer", daemon=True)
        self.thread.start()

    def store(self, event: WebhookEvent) -> asyncio.Future[Answer]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self.waiting.put((event, loop, future))
        return future

    def close_connection(self) -> None:
        """Close the writer's database connection (tests: PostgreSQL drops its database)."""
        done = threading.Event()
        self.waiting.put(done)
        done.wait(10)

    def _run(self) -> None:
        while True:
            items = [self.waiting.get()]
            while len(items) < BATCH:
                try:
                    items.append(self.waiting.get_nowait())
                except queue.Empty:
                    break
            batch = [item for item in items if not isinstance(item, threading.Event)]
            if batch:
                self._store(batch)
            for item in items:
                if isinstance(item, threading.Event):
                    connection.close()
                    item.set()

    def _store(self, batch: list[Waiting]) -> None:
        from carecall.payments.webhooks import stripe_webhook_store_answers

        # What Django does around each request: drop a connection that broke or grew old.
        close_old_connections()
        try:
            answers = stripe_webhook_store_answers(events=[event for event, _l, _f in batch])
        except Exception:  # a bug: each request still gets an answer
            logger.exception("storing %d Stripe events", len(batch))
            answers = [(500, {"error": _("The event could not be stored.")})] * len(batch)
        for (_event, loop, future), answer in zip(batch, answers, strict=True):
            loop.call_soon_threadsafe(_resolve, future, answer)


def _resolve(future: asyncio.Future[Answer], answer: Answer) -> None:
    if not future.done():
        future.set_result(answer)


class StripeWebhookEndpoint:
    """ASGI middleware: POST <the webhook path> is answered here, the rest by `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.path = reverse("payments:stripe_webhook")
        self.max_body = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440
        self.writer = InboxWriter()

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
        from carecall.payments.webhooks import stripe_webhook_check

        checked = stripe_webhook_check(payload=body, signature=signature)
        if isinstance(checked, WebhookEvent):
            status, answer = await self.writer.store(checked)
        else:
            status, answer = checked
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
