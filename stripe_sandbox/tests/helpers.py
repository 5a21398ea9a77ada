"""What the sandbox tests share: SDK clients, raw HTTP for what the SDK would hide, a webhook
receiver and the request options of the two demo accounts. Fixtures stay in conftest.py."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import stripe

from stripe_sandbox import HARBOUR_GP_ACCOUNT_ID, NORTHSIDE_PHYSIO_ACCOUNT_ID

PLATFORM_KEY = "sk_test_platform_key_for_tests"


CLIENT_ID = "ca_sandboxtests"


PROJECT_ROOT = Path(__file__).resolve().parents[2]


def make_client(url: str, key: str = PLATFORM_KEY, **kwargs: Any) -> stripe.StripeClient:
    return stripe.StripeClient(
        key,
        base_addresses={"api": url, "connect": url},
        client_id=CLIENT_ID,
        max_network_retries=kwargs.pop("max_network_retries", 0),
        **kwargs,
    )


HARBOUR: stripe.RequestOptions = {"stripe_account": HARBOUR_GP_ACCOUNT_ID}


NORTHSIDE: stripe.RequestOptions = {"stripe_account": NORTHSIDE_PHYSIO_ACCOUNT_ID}


def error_of(exc: stripe.StripeError) -> dict[str, Any]:
    """The `error` object of an API error's JSON body."""
    assert isinstance(exc.json_body, dict)
    error: dict[str, Any] = exc.json_body["error"]
    return error


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: Any


def http(
    method: str,
    url: str,
    *,
    data: str | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    key: str | None = PLATFORM_KEY,
) -> Raw:
    """A plain HTTP call, for what the SDK would add or hide (auth, idempotency headers)."""
    hdrs = dict(headers or {})
    if key is not None:
        hdrs.setdefault("Authorization", f"Bearer {key}")
    body = None
    if isinstance(data, dict):
        body = json.dumps(data).encode()
        hdrs.setdefault("Content-Type", "application/json")
    elif isinstance(data, str):
        body = data.encode()
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    req = urllib.request.Request(url, data=body, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, rheaders, text = r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        status, rheaders, text = e.code, dict(e.headers), e.read().decode()
    try:
        parsed: Any = json.loads(text)
    except json.JSONDecodeError:
        parsed = text
    return Raw(status, {k.lower(): v for k, v in rheaders.items()}, parsed)


@dataclass
class Receiver:
    """A webhook endpoint that records what arrives and answers as told."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, then 200s
    sleep: float = 0.0  # answer this late (for timeouts)
    gate: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(r["body"]) for r in self.received]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return self.events()
            time.sleep(0.01)
        raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")
