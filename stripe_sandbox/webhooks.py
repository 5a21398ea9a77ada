"""Webhook endpoints and delivery: signed like Stripe, sent from a background thread,
at least once, retried with exponential backoff, subject to the delivery faults."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .faults import Faults
from .ids import random_token
from .state import PLATFORM_ACCOUNT_ID, Obj, State

LOG_LIMIT = 10_000


def sign(payload: str, secret: str, timestamp: int) -> str:
    """Stripe's scheme: `t=<unix time>,v1=<hex HMAC-SHA256 of "t.payload" keyed by whsec_…>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def new_endpoint(
    url: str,
    *,
    secret: str | None = None,
    connect: bool = False,
    enabled_events: list[str] | None = None,
    configured: bool = False,
) -> Obj:
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise ValueError(f"webhook URL must be http(s)://host/…: {url!r}")
    if secret is not None and not secret.startswith("whsec_"):
        raise ValueError("webhook secrets start with whsec_")
    return {
        "id": "we_" + random_token(24),
        "object": "webhook_endpoint",
        "url": url,
        "secret": secret or "whsec_" + random_token(32),
        "connect": bool(connect),
        "enabled_events": list(enabled_events or ["*"]),
        # given at start-up (kept by reset, not persisted) rather than through the control API
        "configured": configured,
    }


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # Stripe treats a redirect as a failed delivery; it never follows one.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Delivery:
    event_id: str
    account: str
    endpoint_id: str
    payload: str
    attempt: int = 1
    duplicate: bool = False


class WebhookDispatcher:
    def __init__(
        self,
        state: State,
        faults: Faults,
        *,
        backoff_seconds: float = 1.0,
        max_attempts: int = 8,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.state = state
        self.faults = faults
        self.backoff_seconds = backoff_seconds
        self.max_attempts = max_attempts
        self.timeout_seconds = timeout_seconds
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, Delivery]] = []
        self._seq = 0
        self._paused = False
        self._stopping = False
        self._in_flight = 0
        self._batch_deadline = 0.0
        self._delivered: set[tuple[str, str]] = set()
        self.log: list[dict[str, Any]] = []
        self._opener = urllib.request.build_opener(_NoRedirects)
        self._thread = threading.Thread(
            target=self._run, name="stripe-sandbox-webhooks", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    # -- queueing ---------------------------------------------------------------------------
    def enqueue(self, events: list[Obj]) -> None:
        for event in events:
            account = event.get("account") or PLATFORM_ACCOUNT_ID
            payload = json.dumps(event, indent=2)
            with self.state.lock:
                endpoints = self.state.endpoints_for(account, event["type"])
            for endpoint in endpoints:
                d = Delivery(event["id"], account, endpoint["id"], payload)
                if self.faults.roll_webhook(self.faults.settings.webhook_drop_rate):
                    self._record(d, endpoint["url"], status=None, outcome="dropped")
                    continue
                self._push(d, self.faults.settings.webhook_delay_seconds)
                if self.faults.roll_webhook(self.faults.settings.webhook_duplicate_rate):
                    self._push(
                        Delivery(d.event_id, account, d.endpoint_id, payload, duplicate=True),
                        self.faults.settings.webhook_delay_seconds,
                    )

    def _push(self, d: Delivery, delay: float, *, retry: bool = False) -> None:
        with self._cond:
            self._seq += 1
            due = time.monotonic() + delay
            order = self._seq
            settings = self.faults.settings
            if settings.webhook_reorder and not retry:
                now = time.monotonic()
                if now >= self._batch_deadline:
                    self._batch_deadline = now + settings.webhook_reorder_window_seconds
                due = max(due, self._batch_deadline)
                order = -self._seq  # newest first within the batch
            heapq.heappush(self._queue, (due, order, d))
            self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    def clear(self) -> None:
        with self._cond:
            self._queue.clear()
            self._delivered.clear()
            self.log.clear()
            self._paused = False
            self._batch_deadline = 0.0

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._in_flight

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is queued or being sent (paused deliveries count as queued)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    # -- sending ----------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    if self._queue and not self._paused:
                        wait = self._queue[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                if self._stopping:
                    return
                _, _, delivery = heapq.heappop(self._queue)
                self._in_flight += 1
            try:
                self._send(delivery)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _send(self, d: Delivery) -> None:
        with self.state.lock:
            endpoint = next((e for e in self.state.endpoints if e["id"] == d.endpoint_id), None)
        if endpoint is None:
            return  # removed (or reset) since the event was queued
        timestamp = int(time.time())
        # The URL was checked to be http(s) when the endpoint was registered.
        request = urllib.request.Request(  # noqa: S310
            endpoint["url"],
            data=d.payload.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": sign(d.payload, endpoint["secret"], timestamp),
            },
        )
        status: int | None = None
        error = None
        try:
            with self._opener.open(request, timeout=self.timeout_seconds) as response:
                status = response.status
        except urllib.error.HTTPError as e:
            status = e.code
        except (OSError, TimeoutError) as e:
            error = f"{type(e).__name__}: {e}"
        ok = status is not None and 200 <= status < 300
        if ok:
            self._record(d, endpoint["url"], status=status, outcome="delivered")
            self._mark_delivered(d)
        elif d.attempt < self.max_attempts:
            self._record(d, endpoint["url"], status=status, outcome="retrying", error=error)
            delay = self.backoff_seconds * 2 ** (d.attempt - 1)
            self._push(
                Delivery(
                    d.event_id, d.account, d.endpoint_id, d.payload, d.attempt + 1, d.duplicate
                ),
                delay,
                retry=True,
            )
        else:
            self._record(d, endpoint["url"], status=status, outcome="failed", error=error)

    def _mark_delivered(self, d: Delivery) -> None:
        key = (d.event_id, d.endpoint_id)
        with self.state.lock:
            if key in self._delivered:
                return  # a duplicate: the event was already counted as delivered here
            self._delivered.add(key)
            event = self.state.get(d.account, d.event_id, "event")
            if event is not None and event["pending_webhooks"] > 0:
                event["pending_webhooks"] -= 1
            self.state.save()

    def _record(
        self, d: Delivery, url: str, *, status: int | None, outcome: str, error: str | None = None
    ) -> None:
        with self._cond:
            if len(self.log) >= LOG_LIMIT:
                del self.log[: LOG_LIMIT // 10]  # a long demo must not grow without bound
            self.log.append(
                {
                    "event": d.event_id,
                    "endpoint": d.endpoint_id,
                    "url": url,
                    "attempt": d.attempt,
                    "duplicate": d.duplicate,
                    "status": status,
                    "outcome": outcome,
                    "error": error,
                    "at": time.time(),
                }
            )
