"""Events: retrieve and list, with Stripe's filters."""

from __future__ import annotations

from typing import Any

from ..params import A, B, R, S
from ..state import Obj
from .common import LIST_PARAMS, ApiContext, Route, created_matches, fetch, paginate, render, route

LIST = {**LIST_PARAMS, "type": S(), "types": A(S()), "created": R(), "delivery_success": B()}


def _type_matches(event_type: str, pattern: str) -> bool:
    # Stripe allows one `*` wildcard: `payment_intent.*`
    if "*" in pattern:
        head, _, tail = pattern.partition("*")
        return event_type.startswith(head) and event_type.endswith(tail)
    return event_type == pattern


def retrieve(ctx: ApiContext, params: dict[str, Any], path: dict[str, str]) -> Obj:
    return render(ctx, fetch(ctx, "event", path["id"], "id"), params.get("expand"))


def list_(ctx: ApiContext, params: dict[str, Any], _: dict[str, str]) -> Obj:
    def keep(e: Obj) -> bool:
        if "type" in params and not _type_matches(e["type"], params["type"]):
            return False
        if "types" in params and not any(_type_matches(e["type"], t) for t in params["types"]):
            return False
        if (
            "delivery_success" in params
            and (e["pending_webhooks"] == 0) != (params["delivery_success"])
        ):
            return False
        return created_matches(e["created"], params.get("created"))

    items = [e for e in ctx.state.list_objects(ctx.account, "event") if keep(e)]
    return paginate(ctx, items, params, "/v1/events", "event")


ROUTES: list[Route] = [
    route("get", "/v1/events", LIST, list_),
    route("get", "/v1/events/{id}", {}, retrieve),
]
