"""Connect OAuth for Standard accounts: the consent page, code exchange and deauthorization."""

from __future__ import annotations

import time
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from . import currencies
from .errors import OAuthError
from .ids import random_token
from .sandbox import Reply
from .state import PLATFORM_ACCOUNT_ID, Obj, publishable_key_for

if TYPE_CHECKING:
    from .api.common import ApiContext
    from .sandbox import Sandbox

CODE_LIFETIME_SECONDS = 300  # Stripe's authorization codes expire after five minutes
COUNTRIES = ("AU", "NZ", "GB", "IE", "US", "CA", "SG")
CURRENCY_CHOICES = ("aud", "nzd", "gbp", "eur", "usd", "cad", "sgd")
FORM_FIELDS = ("client_id", "response_type", "scope", "state", "redirect_uri")


def _form(body: str) -> dict[str, str]:
    return dict(parse_qsl(body, keep_blank_values=True))


def _redirect(uri: str, params: dict[str, str]) -> Reply:
    joiner = "&" if urlsplit(uri).query else "?"
    return Reply(302, "", {"Location": uri + joiner + urlencode(params)}, "text/plain")


def _error_page(message: str) -> Reply:
    return Reply(
        400,
        _page("Connect error", f'<p role="alert">{escape(message)}</p>'),
        {},
        "text/html; charset=utf-8",
    )


def _request_problem(q: dict[str, str]) -> str | None:
    if not q.get("client_id", "").startswith("ca_"):
        return "Invalid client_id: expected your platform's Connect client id (ca_…)."
    if q.get("response_type", "code") != "code":
        return "Invalid response_type: only 'code' is supported."
    if q.get("scope", "read_only") not in ("read_write", "read_only"):
        return "Invalid scope: use read_write or read_only."
    uri = urlsplit(q.get("redirect_uri", ""))
    if uri.scheme not in ("http", "https") or not uri.netloc:
        return "Invalid redirect_uri: an absolute http(s) URL is required."
    return None


def authorize_page(sandbox: Sandbox, query: str, problem: str | None = None) -> Reply:
    q = _form(query)
    bad = _request_problem(q)
    if bad:
        return _error_page(bad)
    with sandbox.state.lock:
        accounts = [a for a in sandbox.state.accounts.values() if a["id"] != PLATFORM_ACCOUNT_ID]
    hidden = "".join(
        f'<input type="hidden" name="{f}" value="{escape(q[f])}">' for f in FORM_FIELDS if f in q
    )
    choices = "".join(
        f'<li><input type="radio" name="account" id="acct-{escape(a["id"])}" '
        f'value="{escape(a["id"])}"{" checked" if i == 0 else ""}>'
        f'<label for="acct-{escape(a["id"])}">{escape(a["business_profile"]["name"])} '
        f"<small>({escape(a['id'])} · {escape(a['country'])} · "
        f"{escape(a['default_currency'].upper())})</small></label></li>"
        for i, a in enumerate(accounts)
    )
    countries = "".join(f"<option>{c}</option>" for c in COUNTRIES)
    currency_options = "".join(
        f'<option value="{c}">{c.upper()}</option>' for c in CURRENCY_CHOICES
    )
    alert = f'<p role="alert" class="error">{escape(problem)}</p>' if problem else ""
    body = f"""{alert}
<p>The platform <strong>{escape(q["client_id"])}</strong> asks to connect to your Stripe account
with <strong>{escape(q.get("scope", "read_only"))}</strong> access.</p>
<form method="post" action="/oauth/authorize">{hidden}
<fieldset><legend>Choose the account to connect</legend><ul>{choices}
<li><input type="radio" name="account" id="acct-new" value="new">
<label for="acct-new">Create a new test account</label></li></ul></fieldset>
<fieldset><legend>New test account</legend>
<p><label for="business_name">Business name</label>
<input id="business_name" name="business_name" autocomplete="organization"></p>
<p><label for="email">Email</label> <input id="email" name="email" type="email"></p>
<p><label for="country">Country</label> <select id="country" name="country">{countries}</select></p>
<p><label for="currency">Default currency</label>
<select id="currency" name="currency">{currency_options}</select></p></fieldset>
<p><button type="submit" name="action" value="connect">Connect</button>
<button type="submit" name="action" value="decline">Decline</button></p>
</form>"""
    return Reply(200, _page("Connect your Stripe account", body), {}, "text/html; charset=utf-8")


def _page(title: str, body: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>
<style>body{{font:16px system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}}
ul{{list-style:none;padding:0}}li{{margin:.4rem 0}}fieldset{{margin:1rem 0}}
.error{{color:#b00020}}button{{font-size:1rem;padding:.4rem 1.2rem;margin-right:.5rem}}</style>
</head><body><header><p>Stripe sandbox (test mode)</p></header>
<main><h1>{escape(title)}</h1>{body}</main></body></html>"""


def authorize_submit(sandbox: Sandbox, body: str) -> Reply:
    f = _form(body)
    bad = _request_problem(f)
    if bad:
        return _error_page(bad)
    redirect_uri = f["redirect_uri"]
    state_param = {"state": f["state"]} if "state" in f else {}
    if f.get("action") != "connect":
        return _redirect(
            redirect_uri,
            {
                "error": "access_denied",
                "error_description": "The user denied your request",
                **state_param,
            },
        )
    query = urlencode({k: f[k] for k in FORM_FIELDS if k in f})
    with sandbox.state.lock:
        if f.get("account") == "new":
            name = f.get("business_name", "").strip()
            email = f.get("email", "").strip()
            currency = f.get("currency", "").lower()
            country = f.get("country", "").upper()
            if not name:
                return _with_status(authorize_page(sandbox, query, "Enter a business name."))
            if "@" not in email:
                return _with_status(authorize_page(sandbox, query, "Enter a valid email."))
            if len(country) != 2 or not country.isalpha():
                return _with_status(authorize_page(sandbox, query, "Choose a country."))
            if currency not in currencies.SUPPORTED:
                return _with_status(authorize_page(sandbox, query, "Choose a currency."))
            account = sandbox.state.create_account(
                name=name, email=email, country=country, currency=currency
            )["id"]
        else:
            account = f.get("account", "")
            if account not in sandbox.state.accounts or account == PLATFORM_ACCOUNT_ID:
                return _with_status(authorize_page(sandbox, query, "Choose an account."))
        code = "ac_" + random_token(24)
        sandbox.state.oauth_codes[code] = {
            "account": account,
            "client_id": f["client_id"],
            "scope": f.get("scope", "read_only"),
            "created": time.time(),
            "used": False,
        }
        sandbox.state.save()
    return _redirect(
        redirect_uri, {"code": code, "scope": f.get("scope", "read_only"), **state_param}
    )


def _with_status(reply: Reply) -> Reply:
    reply.status = 400
    return reply


def _platform_key(sandbox: Sandbox, authorization: str | None, form: dict[str, str]) -> str:
    key = form.get("client_secret") or (authorization or "").removeprefix("Bearer ").strip()
    if not key:
        raise OAuthError(
            "invalid_client",
            "No authentication was provided. Send your secret "
            "API key in the Authorization header or as client_secret.",
            401,
        )
    if not key.startswith("sk_test_") or key in sandbox.state.access_tokens:
        raise OAuthError("invalid_client", "Invalid API key: use the platform's secret key.", 401)
    return key


def _application(client_id: str) -> Obj:
    return {"id": client_id, "object": "application", "name": "CareCall"}


def token(sandbox: Sandbox, authorization: str | None, body: str) -> dict[str, Any]:
    f = _form(body)
    with sandbox.state.lock:
        _platform_key(sandbox, authorization, f)
        grant = f.get("grant_type")
        if grant == "refresh_token":
            account = sandbox.state.refresh_tokens.get(f.get("refresh_token", ""))
            if account is None or not sandbox.state.is_connected(account):
                raise OAuthError(
                    "invalid_grant", "Invalid refresh token: " + f.get("refresh_token", "")
                )
            scope = sandbox.state.connections[account]["scope"]
            return sandbox.run(account, lambda ctx: _issue(ctx, scope, f.get("refresh_token")))
        if grant != "authorization_code":
            raise OAuthError(
                "unsupported_grant_type", f"Unsupported grant type: {grant or '(none)'}"
            )
        code = f.get("code")
        if not code:
            raise OAuthError("invalid_request", "No authorization code provided")
        record = sandbox.state.oauth_codes.get(code)
        if record is None:
            raise OAuthError("invalid_grant", f"Authorization code does not exist: {code}")
        if record["used"]:
            raise OAuthError(
                "invalid_grant", f"Authorization code provided has already been used: {code}"
            )
        if time.time() - record["created"] > CODE_LIFETIME_SECONDS:
            raise OAuthError("invalid_grant", f"Authorization code expired: {code}")
        record["used"] = True
        account = record["account"]

        def connect(ctx: ApiContext) -> dict[str, Any]:
            ctx.state.connections[account] = {
                "client_id": record["client_id"],
                "scope": record["scope"],
                "connected_at": int(time.time()),
            }
            ctx.emit("account.application.authorized", _application(record["client_id"]))
            return _issue(ctx, record["scope"], None)

        return sandbox.run(account, connect)


def _issue(ctx: ApiContext, scope: str, refresh_token: str | None) -> dict[str, Any]:
    access = "sk_test_" + random_token(40)
    ctx.state.access_tokens[access] = {"account": ctx.account, "revoked": False}
    refresh = refresh_token or "rt_" + random_token(40)
    ctx.state.refresh_tokens[refresh] = ctx.account
    return {
        "access_token": access,
        "livemode": False,
        "refresh_token": refresh,
        "scope": scope,
        "stripe_publishable_key": publishable_key_for(ctx.account),
        "stripe_user_id": ctx.account,
        "token_type": "bearer",
    }


def deauthorize(sandbox: Sandbox, authorization: str | None, body: str) -> dict[str, Any]:
    f = _form(body)
    with sandbox.state.lock:
        _platform_key(sandbox, authorization, f)
        account = f.get("stripe_user_id", "")
        connection = sandbox.state.connections.get(account)
        if connection is None or connection["client_id"] != f.get("client_id"):
            raise OAuthError(
                "invalid_client",
                f"This application is not connected to stripe account {account}, or that "
                "account does not exist.",
                401,
            )
        return sandbox.run(account, lambda ctx: disconnect(ctx, connection["client_id"]))


def disconnect(ctx: ApiContext, client_id: str) -> dict[str, Any]:
    ctx.state.connections.pop(ctx.account, None)
    for token_record in ctx.state.access_tokens.values():
        if token_record["account"] == ctx.account:
            token_record["revoked"] = True
    for refresh, acct in list(ctx.state.refresh_tokens.items()):
        if acct == ctx.account:
            del ctx.state.refresh_tokens[refresh]
    ctx.emit("account.application.deauthorized", _application(client_id))
    return {"stripe_user_id": ctx.account}
