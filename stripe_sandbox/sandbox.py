"""The sandbox without HTTP: dispatches /v1 calls with auth, validation, idempotency, faults,
and owns the state, the fault switches and the webhook dispatcher."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import ROUTES
from .api.common import ApiContext, Route
from .auth import authenticate
from .errors import StripeError
from .faults import Faults
from .ids import request_id
from .params import decode_form, validate
from .state import PLATFORM_ACCOUNT_ID, Obj, State
from .webhooks import WebhookDispatcher, new_endpoint

IDEMPOTENCY_KEY_MAX = 255
IDEMPOTENCY_KEY_LIFETIME = 24 * 3600


@dataclass
class Reply:
    status: int
    body: Any  # dict -> JSON, str -> text as content_type
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def error_reply(error: StripeError, req_id: str) -> Reply:
    return Reply(error.status, error.body(), {"Request-Id": req_id, **error.headers})


@dataclass(frozen=True)
class EndpointConfig:
    """A webhook endpoint given at start-up."""

    url: str
    secret: str | None = None
    connect: bool = False
    enabled_events: tuple[str, ...] = ("*",)


class Sandbox:
    def __init__(
        self,
        *,
        state_file: Path | None = None,
        webhook_endpoints: list[EndpointConfig] | None = None,
        webhook_backoff_seconds: float = 1.0,
        webhook_max_attempts: int = 8,
        webhook_timeout_seconds: float = 10.0,
        connect_seed_accounts: bool = False,
    ) -> None:
        self.base_url = ""
        self.state = State(state_file)
        self.faults = Faults()
        self.webhooks = WebhookDispatcher(
            self.state,
            self.faults,
            backoff_seconds=webhook_backoff_seconds,
            max_attempts=webhook_max_attempts,
            timeout_seconds=webhook_timeout_seconds,
        )
        self._configured = list(webhook_endpoints or [])
        self._connect_seeds = connect_seed_accounts
        self._timers: list[threading.Timer] = []
        # Every API request received, as (METHOD, path), faults included: how many calls a
        # client made (reset() clears it).
        self.api_requests: list[tuple[str, str]] = []
        self._install_configuration()

    def _install_configuration(self) -> None:
        with self.state.lock:
            known = {e["url"] for e in self.state.endpoints}
            for cfg in self._configured:
                if cfg.url not in known:
                    self.state.endpoints.append(
                        new_endpoint(
                            cfg.url,
                            secret=cfg.secret,
                            connect=cfg.connect,
                            enabled_events=list(cfg.enabled_events),
                            configured=True,
                        )
                    )
            if self._connect_seeds:
                for account in self.state.accounts:
                    if account != PLATFORM_ACCOUNT_ID and not self.state.is_connected(account):
                        self.state.connections[account] = {
                            "client_id": "ca_sandbox",
                            "scope": "read_write",
                            "connected_at": int(time.time()),
                        }

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self.webhooks.start()

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self.webhooks.stop()
        self.state.save()

    def reset(self) -> None:
        """Everything back to the seed: objects, connections, faults, queued deliveries.
        Endpoints given at start-up stay; ones added through the control API go."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self.api_requests.clear()
        self.webhooks.clear()
        self.faults.clear()
        with self.state.lock:
            self.state.reset()
            self._install_configuration()
            self.state.save()

    # -- helpers for modules that change state outside a request ------------------------------
    def context(self, account: str, req_id: str | None = None) -> ApiContext:
        return ApiContext(self, account, "secret", req_id or request_id())

    def run(self, account: str, fn: Callable[[ApiContext], Any]) -> Any:
        """Run `fn` under the state lock as `account`, then queue the events it emitted."""
        ctx = self.context(account)
        with self.state.lock:
            result = fn(ctx)
            self.state.save()
        self.webhooks.enqueue(ctx.events)
        return result

    def later(self, delay: float, account: str, fn: Callable[[ApiContext], Any]) -> None:
        timer = threading.Timer(delay, lambda: self.run(account, fn))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def add_endpoint(
        self,
        url: str,
        *,
        secret: str | None = None,
        connect: bool = False,
        enabled_events: list[str] | None = None,
    ) -> Obj:
        endpoint = new_endpoint(url, secret=secret, connect=connect, enabled_events=enabled_events)
        with self.state.lock:
            self.state.endpoints.append(endpoint)
            self.state.save()
        return endpoint

    # -- the API ----------------------------------------------------------------------------
    def handle_api(
        self, method: str, path: str, query: str, body: str, headers: Mapping[str, str]
    ) -> Reply:
        req_id = request_id()
        self.api_requests.append((method.upper(), path))
        self.faults.api_delay("before", method, path)
        fault = self.faults.api_error(path, method)
        if fault and fault[1] == "before":
            return error_reply(fault[0], req_id)
        try:
            reply = self._dispatch(method, path, query, body, headers, req_id)
        except StripeError as e:
            reply = error_reply(e, req_id)
        self.faults.api_delay("after", method, path)  # it ran; its answer is slow to come
        if fault:  # "after": the call ran (and is recorded for replay) but its answer is lost
            return error_reply(fault[0], req_id)
        return reply

    def _find_route(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        for r in ROUTES:
            if r.method == method:
                found = r.match(path)
                if found is not None:
                    return r, found
        raise StripeError(
            f"Unrecognized request URL ({method.upper()}: {path}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/.",
            status=404,
        )

    def _dispatch(
        self,
        method: str,
        path: str,
        query: str,
        body: str,
        headers: Mapping[str, str],
        req_id: str,
    ) -> Reply:
        with self.state.lock:
            caller = authenticate(
                self.state, headers.get("authorization"), headers.get("stripe-account")
            )
        route, path_params = self._find_route(method, path)
        if caller.kind == "publishable" and not route.publishable:
            raise StripeError(
                "This API call cannot be made with a publishable API key. Please use a secret "
                "API key. You can find a list of your API keys at "
                "https://dashboard.stripe.com/account/apikeys.",
                status=401,
            )
        raw = decode_form(query if method == "get" else body)
        params = validate(raw, route.schema)
        key = headers.get("idempotency-key") if method == "post" else None
        if key is not None and len(key) > IDEMPOTENCY_KEY_MAX:
            raise StripeError(
                f"Invalid idempotency key: must be at most {IDEMPOTENCY_KEY_MAX} characters.",
                param="Idempotency-Key",
            )
        ctx = ApiContext(self, caller.account, caller.kind, req_id, caller.key, key)
        base_headers = {"Request-Id": req_id}
        if key is not None:
            base_headers["Idempotency-Key"] = key
        with self.state.lock:
            # Keys are scoped to the account the request acts on, as on Stripe.
            scope = f"{caller.account}|{key}"
            if key is not None and scope in self.state.idempotency:
                return self._replay(self.state.idempotency[scope], method, path, raw, key)
            try:
                result = route.handler(ctx, params, path_params)
                status, payload = 200, result
            except StripeError as e:
                if not e.executed:
                    raise  # nothing ran: not saved, the caller may fix it and reuse the key
                status, payload = e.status, e.body()
            if key is not None:
                self._forget_old_keys()
                self.state.idempotency[scope] = {
                    "method": method,
                    "path": path,
                    "params": raw,
                    "status": status,
                    "body": payload,
                    "request_id": req_id,
                    "created": int(time.time()),
                }
            if method == "post":
                self.state.save()
        self.webhooks.enqueue(ctx.events)
        return Reply(status, payload, base_headers)

    def _forget_old_keys(self) -> None:
        """Stripe keeps idempotency keys for 24 hours; after that a key may be reused."""
        cutoff = time.time() - IDEMPOTENCY_KEY_LIFETIME
        for scope in [s for s, r in self.state.idempotency.items() if r["created"] < cutoff]:
            del self.state.idempotency[scope]

    def _replay(self, record: Obj, method: str, path: str, raw: dict[str, Any], key: str) -> Reply:
        if (record["method"], record["path"]) != (method, path):
            raise StripeError(
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{record['path']}' vs '{path}'). Try using a key other than "
                f"'{key}' if you meant to execute a different request.",
                type="idempotency_error",
            )
        if json.dumps(record["params"], sort_keys=True) != json.dumps(raw, sort_keys=True):
            raise StripeError(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type="idempotency_error",
            )
        return Reply(
            record["status"],
            record["body"],
            {
                "Request-Id": record["request_id"],
                "Idempotency-Key": key,
                "Idempotent-Replayed": "true",
                "Original-Request": record["request_id"],
            },
        )
