"""What every API handler shares: the request context, routes, lists, expansion."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import StripeError, resource_missing
from ..params import EXPAND, I, Param, S, Schema
from ..state import Obj, State

if TYPE_CHECKING:
    from ..sandbox import Sandbox


@dataclass
class ApiContext:
    sandbox: Sandbox
    account: str  # the partition this request acts in
    key_kind: str  # "secret" | "publishable"
    request_id: str
    api_key: str = ""
    idempotency_key: str | None = None
    # events created while the state lock is held; webhooks are queued once it is released
    events: list[Obj] = field(default_factory=list)

    @property
    def state(self) -> State:
        return self.sandbox.state

    def emit(self, event_type: str, obj: Obj, previous_attributes: Obj | None = None) -> None:
        request = {"id": self.request_id, "idempotency_key": self.idempotency_key}
        self.events.append(
            self.state.create_event(
                self.account,
                event_type,
                obj,
                previous_attributes=previous_attributes,
                request=request,
            )
        )


Handler = Callable[[ApiContext, dict[str, Any], dict[str, str]], Obj]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as the OpenAPI spec names it, e.g. /v1/payment_intents/{intent}
    schema: Schema
    handler: Handler
    publishable: bool = False  # Stripe.js may call it with a pk_test_ key

    def match(self, path: str) -> dict[str, str] | None:
        pattern = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path) + "$"
        m = re.match(pattern, path)
        return m.groupdict() if m else None


def route(
    method: str, path: str, schema: Schema, handler: Handler, *, publishable: bool = False
) -> Route:
    return Route(method, path, {**schema, "expand": EXPAND}, handler, publishable)


LIST_PARAMS: dict[str, Param] = {"limit": I(), "starting_after": S(), "ending_before": S()}

# Which fields of which objects hold an expandable id, and the type of object it names.
EXPANDABLE: dict[str, dict[str, str]] = {
    "payment_intent": {"latest_charge": "charge", "payment_method": "payment_method"},
    "charge": {"payment_intent": "payment_intent"},
    "refund": {"charge": "charge", "payment_intent": "payment_intent"},
}


def fetch(ctx: ApiContext, object_type: str, object_id: str, param: str) -> Obj:
    obj = ctx.state.get(ctx.account, object_id, object_type)
    if obj is None:
        raise resource_missing(object_type, object_id, param)
    return obj


def render(ctx: ApiContext, obj: Obj, expand: list[str] | None) -> Obj:
    """A copy of `obj` with the `expand[]` paths replaced by the objects they name."""
    out = copy.deepcopy(obj)
    for path in expand or []:
        _expand(ctx, out, path.split("."), path)
    return out


def _expand(ctx: ApiContext, obj: Obj, parts: list[str], full: str) -> None:
    head, rest = parts[0], parts[1:]
    if obj.get("object") == "list" and head == "data":
        for item in obj["data"]:
            if rest:
                _expand(ctx, item, rest, full)
        return
    target = EXPANDABLE.get(obj.get("object", ""), {}).get(head)
    if target is None:
        raise StripeError(f"This property cannot be expanded ({head}).", param="expand")
    value = obj.get(head)
    if isinstance(value, str):
        found = ctx.state.get(ctx.account, value, target)
        obj[head] = copy.deepcopy(found) if found else value
    if rest and isinstance(obj.get(head), dict):
        _expand(ctx, obj[head], rest, full)


def created_matches(created: int, flt: Any) -> bool:
    if flt is None:
        return True
    if isinstance(flt, int):
        return created == flt
    return (
        ("gt" not in flt or created > flt["gt"])
        and ("gte" not in flt or created >= flt["gte"])
        and ("lt" not in flt or created < flt["lt"])
        and ("lte" not in flt or created <= flt["lte"])
    )


def paginate(
    ctx: ApiContext, items: list[Obj], params: dict[str, Any], url: str, object_type: str
) -> Obj:
    limit = params.get("limit", 10)
    if not 1 <= limit <= 100:
        raise StripeError(
            "Invalid limit: must be between 1 and 100",
            code="parameter_invalid_integer",
            param="limit",
        )
    ids = [o["id"] for o in items]
    if "starting_after" in params:
        cursor = params["starting_after"]
        if cursor not in ids:
            raise resource_missing(object_type, cursor, "starting_after")
        rest = items[ids.index(cursor) + 1 :]
        page, has_more = rest[:limit], len(rest) > limit
    elif "ending_before" in params:
        cursor = params["ending_before"]
        if cursor not in ids:
            raise resource_missing(object_type, cursor, "ending_before")
        before = items[: ids.index(cursor)]
        page, has_more = before[-limit:], len(before) > limit
    else:
        page, has_more = items[:limit], len(items) > limit
    listing = {"object": "list", "data": page, "has_more": has_more, "url": url}
    return render(ctx, listing, params.get("expand"))
