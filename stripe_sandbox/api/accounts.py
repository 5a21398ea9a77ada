"""Accounts: the caller's own (`/v1/account`) and connected ones (`/v1/accounts/{id}`)."""

from __future__ import annotations

import copy
from typing import Any

from ..errors import StripeError, masked
from ..state import PLATFORM_ACCOUNT_ID, Obj
from .common import ApiContext, Route, route


def no_access(key: str, account: str) -> StripeError:
    return StripeError(
        f"The provided key '{masked(key)}' does not have access to account '{account}' (or "
        "that account does not exist). Application access may have been revoked.",
        status=403,
        code="account_invalid",
    )


def retrieve(ctx: ApiContext, params: dict[str, Any], path: dict[str, str]) -> Obj:
    account = path["account"]
    # The platform may read itself and the accounts connected to it; a connected account
    # only itself.
    allowed = account == ctx.account or (
        ctx.account == PLATFORM_ACCOUNT_ID and ctx.state.is_connected(account)
    )
    if not allowed or account not in ctx.state.accounts:
        raise no_access(ctx.api_key, account)
    return copy.deepcopy(ctx.state.accounts[account])


def retrieve_current(ctx: ApiContext, params: dict[str, Any], _: dict[str, str]) -> Obj:
    return copy.deepcopy(ctx.state.accounts[ctx.account])


ROUTES: list[Route] = [
    route("get", "/v1/account", {}, retrieve_current),
    route("get", "/v1/accounts/{account}", {}, retrieve),
]
