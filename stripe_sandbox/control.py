"""The control API under /_sandbox/ (JSON, no auth: the server only listens on 127.0.0.1)."""

from __future__ import annotations

import copy
import json
import re
import time
from typing import Any

from .api import payment_intents
from .errors import StripeError
from .oauth import disconnect
from .sandbox import Reply, Sandbox
from .state import PLATFORM_ACCOUNT_ID, Obj, publishable_key_for


def _ok(body: Any, status: int = 200) -> Reply:
    return Reply(status, body)


def _bad(message: str, status: int = 400) -> Reply:
    return Reply(status, {"error": {"type": "sandbox_error", "message": message}})


def connect_account(sandbox: Sandbox, account: str, client_id: str = "ca_sandbox") -> Obj:
    """Connect an account to the platform without the OAuth dance (tests, demos)."""
    with sandbox.state.lock:
        if account not in sandbox.state.accounts or account == PLATFORM_ACCOUNT_ID:
            raise KeyError(account)
        connection: Obj = {
            "client_id": client_id,
            "scope": "read_write",
            "connected_at": int(time.time()),
        }

        def run(ctx: Any) -> Obj:
            ctx.state.connections[account] = connection
            ctx.emit(
                "account.application.authorized",
                {"id": client_id, "object": "application", "name": "CareCall"},
            )
            return connection

        result: Obj = sandbox.run(account, run)
        return result


def disconnect_account(sandbox: Sandbox, account: str) -> None:
    with sandbox.state.lock:
        connection = sandbox.state.connections.get(account)
        if connection is None:
            raise KeyError(account)
        sandbox.run(account, lambda ctx: disconnect(ctx, connection["client_id"]))


def three_d_secure(sandbox: Sandbox, pi_id: str, client_secret: str, success: bool) -> Obj:
    """Finish a 3-D Secure challenge. The client secret proves the caller holds the intent."""
    with sandbox.state.lock:
        owner = next(
            (
                account
                for account, objects in sandbox.state.objects.items()
                if objects.get(pi_id, {}).get("object") == "payment_intent"
            ),
            None,
        )
        if owner is None:
            raise StripeError(
                f"No such payment_intent: '{pi_id}'", status=404, code="resource_missing"
            )
        pi = sandbox.state.objects[owner][pi_id]
        if pi["client_secret"] != client_secret:
            raise StripeError("The client_secret provided does not match.", param="client_secret")
        result: Obj = sandbox.run(owner, lambda ctx: payment_intents.authenticate(ctx, pi, success))
        return copy.deepcopy(result)


REFUND_STATUSES = ("pending", "requires_action", "succeeded", "failed", "canceled")


def refund_settle(sandbox: Sandbox, refund_id: str, status: str, failure_reason: str = "") -> Obj:
    """Move a refund to another status, as Stripe does later for some refunds (its test cards
    4000000000007726 "refund pending" and 4000000000005126 "refund fails asynchronously"):
    a failed or canceled refund gives its amount back to the charge. Emits `refund.updated`."""
    if status not in REFUND_STATUSES:
        raise ValueError(f"status must be one of {', '.join(REFUND_STATUSES)}")
    with sandbox.state.lock:
        owner = next(
            (
                account
                for account, objects in sandbox.state.objects.items()
                if objects.get(refund_id, {}).get("object") == "refund"
            ),
            None,
        )
        if owner is None:
            raise StripeError(f"No such refund: '{refund_id}'", status=404, code="resource_missing")

        def run(ctx: Any) -> Obj:
            refund = ctx.state.objects[owner][refund_id]
            if refund["status"] in ("failed", "canceled"):
                raise ValueError(f"refund {refund_id} is {refund['status']} already")
            previous = {"status": refund["status"]}
            if status in ("failed", "canceled"):
                charge = ctx.state.objects[owner][refund["charge"]]
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = charge["amount_refunded"] == charge["amount"]
                refund["failure_reason"] = failure_reason or "unknown"
            refund["status"] = status
            ctx.emit("refund.updated", refund, previous_attributes=previous)
            return refund

        result: Obj = sandbox.run(owner, run)
        return copy.deepcopy(result)


def accounts(sandbox: Sandbox) -> list[Obj]:
    with sandbox.state.lock:
        return [
            {
                "id": a["id"],
                "name": a["business_profile"]["name"],
                "country": a["country"],
                "default_currency": a["default_currency"],
                "platform": a["id"] == PLATFORM_ACCOUNT_ID,
                "connected": sandbox.state.is_connected(a["id"]),
                "publishable_key": publishable_key_for(a["id"]),
            }
            for a in sandbox.state.accounts.values()
        ]


def handle(sandbox: Sandbox, method: str, path: str, body: str) -> Reply:
    try:
        data = json.loads(body) if body.strip() else {}
    except json.JSONDecodeError as e:
        return _bad(f"body is not JSON: {e}")
    if not isinstance(data, dict):
        return _bad("body must be a JSON object")
    route = (method, path.rstrip("/"))
    try:
        return _route(sandbox, route, data)
    except StripeError as e:
        return Reply(e.status, e.body())
    except ValueError as e:
        return _bad(str(e))
    except KeyError as e:
        return _bad(f"unknown: {e.args[0]}", 404)


def _route(sandbox: Sandbox, route: tuple[str, str], data: dict[str, Any]) -> Reply:
    method, path = route
    if route == ("get", "/_sandbox/health"):
        return _ok({"ok": True, "url": sandbox.base_url})
    if path == "/_sandbox/faults":
        if method == "post":
            sandbox.faults.configure(**data)
        elif method == "delete":
            sandbox.faults.clear()
        return _ok(sandbox.faults.as_dict())
    if route == ("post", "/_sandbox/reset"):
        sandbox.reset()
        return _ok({"reset": True})
    if route == ("post", "/_sandbox/webhooks/pause"):
        sandbox.webhooks.pause()
        return _ok({"paused": True})
    if route == ("post", "/_sandbox/webhooks/resume"):
        sandbox.webhooks.resume()
        return _ok({"paused": False})
    if route == ("get", "/_sandbox/deliveries"):
        return _ok(
            {
                "paused": sandbox.webhooks.paused,
                "pending": sandbox.webhooks.pending(),
                "data": list(sandbox.webhooks.log),
            }
        )
    if path == "/_sandbox/webhook_endpoints":
        if method == "post":
            if not isinstance(data.get("url"), str):
                raise ValueError("url is required")
            endpoint = sandbox.add_endpoint(
                data["url"],
                secret=data.get("secret"),
                connect=bool(data.get("connect", False)),
                enabled_events=data.get("enabled_events"),
            )
            return _ok(endpoint)
        with sandbox.state.lock:
            return _ok({"data": list(sandbox.state.endpoints)})
    if route == ("get", "/_sandbox/accounts"):
        return _ok({"data": accounts(sandbox)})
    m = re.fullmatch(r"/_sandbox/accounts/(acct_\w+)/(connect|disconnect)", path)
    if m and method == "post":
        if m.group(2) == "connect":
            return _ok(connect_account(sandbox, m.group(1), data.get("client_id", "ca_sandbox")))
        disconnect_account(sandbox, m.group(1))
        return _ok({"stripe_user_id": m.group(1)})
    m = re.fullmatch(r"/_sandbox/refunds/(re_\w+)", path)
    if m and method == "post":
        return _ok(
            refund_settle(
                sandbox,
                m.group(1),
                str(data.get("status", "")),
                str(data.get("failure_reason") or ""),
            )
        )
    m = re.fullmatch(r"/_sandbox/three_d_secure/(pi_\w+)", path)
    if m and method == "post":
        if data.get("outcome") not in ("complete", "fail"):
            raise ValueError('outcome must be "complete" or "fail"')
        pi = three_d_secure(
            sandbox, m.group(1), str(data.get("client_secret", "")), data["outcome"] == "complete"
        )
        return _ok(pi)
    return _bad(f"no control endpoint {method.upper()} {path}", 404)
