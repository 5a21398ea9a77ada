"""Switchable faults for reliability tests: API latency and errors, webhook delay, loss,
duplication and reordering. Random choices come from seeded generators, so a run with a seed
repeats exactly."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import StripeError


@dataclass
class FaultSettings:
    api_latency_ms: float = 0.0  # added to every /v1 call (of api_latency_paths)
    # "before": the call waits, then runs. "after": it runs at once and its answer is held (a
    # slow answer: the object exists at Stripe while the caller still waits, e.g. to kill the
    # caller between Stripe's create and its own insert).
    api_latency_when: str = "before"
    api_latency_paths: list[str] = field(default_factory=lambda: ["/v1/"])  # path prefixes
    # Which HTTP methods latency and errors apply to (e.g. ["get"]: only retrieves fail).
    api_fault_methods: list[str] = field(default_factory=lambda: ["get", "post", "delete"])
    api_error_rate: float = 0.0  # share of /v1 calls answered with an error
    api_error_status: int = 500  # 500 (api_error) or 429 (rate_limit)
    # "before": the call never ran (a load balancer error). "after": it ran and was recorded
    # for idempotent replay, but its answer was lost - the case that double-charges naive
    # clients that retry without the same Idempotency-Key.
    api_error_when: str = "before"
    api_error_paths: list[str] = field(default_factory=lambda: ["/v1/"])  # path prefixes
    webhook_delay_seconds: float = 0.0  # added before every delivery
    webhook_drop_rate: float = 0.0  # share of deliveries never attempted
    webhook_duplicate_rate: float = 0.0  # share of deliveries sent twice
    webhook_reorder: bool = False  # deliveries gathered for a window, then sent newest first
    webhook_reorder_window_seconds: float = 0.3
    # Not a fault: card payments normally settle at once; >0 holds them in `processing`.
    processing_seconds: float = 0.0
    seed: int | None = None


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.settings = FaultSettings()
        self._api_rng = random.Random()
        self._webhook_rng = random.Random()

    def configure(self, **changes: Any) -> FaultSettings:
        """Change some switches; unknown names or bad values raise ValueError."""
        names = {f.name: f for f in dataclasses.fields(FaultSettings)}
        with self._lock:
            updated = dataclasses.replace(self.settings)
            for name, value in changes.items():
                if name not in names:
                    raise ValueError(f"unknown fault setting: {name}")
                setattr(updated, name, value)
            _check(updated)
            self.settings = updated
            if "seed" in changes:
                # Separate streams: webhook deliveries run on their own thread and must not
                # shift the sequence of API faults.
                self._api_rng = random.Random(updated.seed)
                self._webhook_rng = random.Random(
                    None if updated.seed is None else updated.seed + 1
                )
            return updated

    def clear(self) -> None:
        with self._lock:
            self.settings = FaultSettings()
            self._api_rng = random.Random()
            self._webhook_rng = random.Random()

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.settings)

    def _roll(self, rng: random.Random, rate: float) -> bool:
        with self._lock:
            return rate > 0 and rng.random() < rate

    def roll_webhook(self, rate: float) -> bool:
        return self._roll(self._webhook_rng, rate)

    def api_delay(self, when: str, method: str = "get", path: str = "/v1/") -> None:
        s = self.settings
        if (
            s.api_latency_ms > 0
            and s.api_latency_when == when
            and method in s.api_fault_methods
            and any(path.startswith(p) for p in s.api_latency_paths)
        ):
            time.sleep(s.api_latency_ms / 1000)

    def api_error(self, path: str, method: str = "get") -> tuple[StripeError, str] | None:
        """Whether this call fails, and when ("before" or "after" it runs)."""
        s = self.settings
        if method not in s.api_fault_methods:
            return None
        if not any(path.startswith(p) for p in s.api_error_paths):
            return None
        if not self._roll(self._api_rng, s.api_error_rate):
            return None
        if s.api_error_status == 429:
            error = StripeError(
                "Too many requests hit the API too quickly. We recommend an exponential "
                "backoff of your requests.",
                status=429,
                code="rate_limit",
            )
        else:
            error = StripeError(
                "An unknown error occurred", status=s.api_error_status, type="api_error"
            )
        return error, s.api_error_when


def _check(s: FaultSettings) -> None:
    for name in ("api_error_rate", "webhook_drop_rate", "webhook_duplicate_rate"):
        value = getattr(s, name)
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValueError(f"{name} must be a number between 0 and 1")
    for name in (
        "api_latency_ms",
        "webhook_delay_seconds",
        "webhook_reorder_window_seconds",
        "processing_seconds",
    ):
        value = getattr(s, name)
        if not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{name} must be a non-negative number")
    if s.api_error_status not in (429, 500, 502, 503):
        raise ValueError("api_error_status must be 429, 500, 502 or 503")
    if s.api_error_when not in ("before", "after"):
        raise ValueError('api_error_when must be "before" or "after"')
    if s.api_latency_when not in ("before", "after"):
        raise ValueError('api_latency_when must be "before" or "after"')
    if not isinstance(s.api_fault_methods, list) or not all(
        m in ("get", "post", "delete") for m in s.api_fault_methods
    ):
        raise ValueError('api_fault_methods must be a list of "get", "post", "delete"')
    if not isinstance(s.webhook_reorder, bool):
        raise ValueError("webhook_reorder must be true or false")
    for name in ("api_error_paths", "api_latency_paths"):
        value = getattr(s, name)
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise ValueError(f"{name} must be a list of path prefixes")
    if s.seed is not None and not isinstance(s.seed, int):
        raise ValueError("seed must be an integer or null")
