"""Connect OAuth for Standard accounts, driven by the SDK's OAuth helpers and a form post."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import stripe

from stripe_sandbox import HARBOUR_GP_ACCOUNT_ID, NORTHSIDE_PHYSIO_ACCOUNT_ID
from stripe_sandbox.tests.helpers import CLIENT_ID, PLATFORM_KEY, http, make_client

REDIRECT = "https://carecall.test/payments/stripe/callback"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def submit(url: str, fields: dict[str, str]) -> tuple[int, str]:
    """Post the consent form; return the status and the Location (or body)."""
    opener = urllib.request.build_opener(_NoRedirect)
    req = urllib.request.Request(url, data=urlencode(fields).encode(), method="POST")
    try:
        with opener.open(req) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location") or e.read().decode()


class FormFields(HTMLParser):
    """The hidden fields, radio choices, labels and buttons of the consent page."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.radios: list[str] = []
        self.ids: set[str] = set()
        self.labels_for: set[str] = set()
        self.buttons: list[str] = []
        self._in_button = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("input", "select") and a.get("id"):
            self.ids.add(a["id"])
        if tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a["value"]
        if tag == "input" and a.get("type") == "radio":
            self.radios.append(a["value"])
        if tag == "label":
            self.labels_for.add(a["for"])
        if tag == "button":
            assert a.get("type") == "submit"
            self._in_button = True

    def handle_endtag(self, tag):
        if tag == "button":
            self._in_button = False

    def handle_data(self, data):
        if self._in_button:
            self.buttons.append(data.strip())


def consent(client: stripe.StripeClient, state: str = "csrf-state-1") -> tuple[str, FormFields]:
    url = client.oauth.authorize_url(
        {"scope": "read_write", "state": state, "redirect_uri": REDIRECT}
    )
    page = http("GET", url, key=None)
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    parsed = FormFields()
    parsed.feed(page.body)
    return page.body, parsed


def connect(client, sandbox_url: str, account: str, state: str = "csrf-state-1", **extra: str):
    _, form = consent(client, state)
    status, location = submit(
        f"{sandbox_url}/oauth/authorize",
        {**form.hidden, "account": account, "action": "connect", **extra},
    )
    assert status == 302, location
    return location


def test_consent_page_lists_test_accounts_with_accessible_form(sandbox, client):
    html, form = consent(client)
    assert "Harbour GP Pty Ltd" in html and "Northside Physio" in html
    assert HARBOUR_GP_ACCOUNT_ID in form.radios and NORTHSIDE_PHYSIO_ACCOUNT_ID in form.radios
    assert "new" in form.radios
    assert form.buttons == ["Connect", "Decline"]
    assert form.ids <= form.labels_for  # every input has a label
    for name in ("business_name", "email", "country", "currency"):
        assert name in form.ids
    assert form.hidden["state"] == "csrf-state-1" and form.hidden["client_id"] == CLIENT_ID
    assert '<html lang="en">' in html and "<h1>" in html


def test_connect_exchange_and_use_the_account(sandbox, client):
    location = connect(client, sandbox.url, HARBOUR_GP_ACCOUNT_ID)
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["csrf-state-1"]
    code = query["code"][0]
    assert code.startswith("ac_")
    token = client.oauth.token({"grant_type": "authorization_code", "code": code})
    assert token.stripe_user_id == HARBOUR_GP_ACCOUNT_ID
    assert token.scope == "read_write" and token.livemode is False
    assert token.token_type == "bearer"
    assert token.stripe_publishable_key.startswith("pk_test_")
    assert token.access_token.startswith("sk_test_")
    # The platform can now act on the account...
    opts = {"stripe_account": token.stripe_user_id}
    assert client.v1.accounts.retrieve(token.stripe_user_id).business_profile.name == (
        "Harbour GP Pty Ltd"
    )
    client.v1.payment_intents.create({"amount": 4500, "currency": "aud"}, opts)
    # ...and the access token is the account's own key.
    own = make_client(sandbox.url, key=token.access_token)
    assert own.v1.accounts.retrieve_current().id == HARBOUR_GP_ACCOUNT_ID
    assert len(own.v1.payment_intents.list().data) == 1
    events = client.v1.events.list({"type": "account.application.authorized"}, opts).data
    assert len(events) == 1 and events[0].account == HARBOUR_GP_ACCOUNT_ID


def test_reused_or_unknown_code_is_invalid_grant(sandbox, client):
    code = parse_qs(urlsplit(connect(client, sandbox.url, HARBOUR_GP_ACCOUNT_ID)).query)["code"][0]
    client.oauth.token({"grant_type": "authorization_code", "code": code})
    events_before = len(client.v1.events.list(options={"stripe_account": HARBOUR_GP_ACCOUNT_ID}))
    with pytest.raises(stripe.oauth_error.InvalidGrantError) as e:
        client.oauth.token({"grant_type": "authorization_code", "code": code})
    assert e.value.http_status == 400
    body = e.value.json_body
    assert isinstance(body, dict) and body["error"] == "invalid_grant"
    assert "already been used" in body["error_description"]
    with pytest.raises(stripe.oauth_error.InvalidGrantError):
        client.oauth.token({"grant_type": "authorization_code", "code": "ac_unknown"})
    r = http("POST", f"{sandbox.url}/oauth/token", data="grant_type=authorization_code&code=ac_x")
    assert r.status == 400 and set(r.body) == {"error", "error_description"}
    after = len(client.v1.events.list(options={"stripe_account": HARBOUR_GP_ACCOUNT_ID}))
    assert after == events_before


def test_decline_redirects_with_access_denied(sandbox, client):
    _, form = consent(client, state="s-2")
    status, location = submit(
        f"{sandbox.url}/oauth/authorize", {**form.hidden, "action": "decline"}
    )
    assert status == 302
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["s-2"]
    assert query["error_description"]
    assert "code" not in query


def test_create_a_new_account_on_the_consent_page(sandbox, client):
    location = connect(
        client,
        sandbox.url,
        "new",
        business_name="Bayside Dental",
        email="hello@bayside.test",
        country="NZ",
        currency="nzd",
    )
    code = parse_qs(urlsplit(location).query)["code"][0]
    token = client.oauth.token({"grant_type": "authorization_code", "code": code})
    acct = client.v1.accounts.retrieve(token.stripe_user_id)
    assert acct.business_profile.name == "Bayside Dental"
    assert (acct.country, acct.default_currency, acct.email) == ("NZ", "nzd", "hello@bayside.test")
    _, form = consent(client)
    assert token.stripe_user_id in form.radios  # now one of the test accounts


def test_new_account_form_errors_are_shown(sandbox, client):
    _, form = consent(client)
    status, body = submit(
        f"{sandbox.url}/oauth/authorize", {**form.hidden, "account": "new", "action": "connect"}
    )
    assert status == 400 and 'role="alert"' in body and "business name" in body


def test_bad_authorize_requests_show_an_error_page(sandbox):
    r = http("GET", f"{sandbox.url}/oauth/authorize?response_type=code&client_id=nope", key=None)
    assert r.status == 400 and "client_id" in r.body


def test_deauthorize_disconnects_and_emits_event(sandbox, client, receiver):
    sandbox.add_webhook_endpoint(receiver.url, connect=True)
    code = parse_qs(urlsplit(connect(client, sandbox.url, NORTHSIDE_PHYSIO_ACCOUNT_ID)).query)
    token = client.oauth.token({"grant_type": "authorization_code", "code": code["code"][0]})
    result = client.oauth.deauthorize({"stripe_user_id": NORTHSIDE_PHYSIO_ACCOUNT_ID})
    assert result.stripe_user_id == NORTHSIDE_PHYSIO_ACCOUNT_ID
    with pytest.raises(stripe.PermissionError):
        client.v1.payment_intents.list(options={"stripe_account": NORTHSIDE_PHYSIO_ACCOUNT_ID})
    with pytest.raises(stripe.AuthenticationError):
        make_client(sandbox.url, key=token.access_token).v1.payment_intents.list()
    events = receiver.wait_for(2)
    assert [e["type"] for e in events] == [
        "account.application.authorized",
        "account.application.deauthorized",
    ]
    assert all(e["account"] == NORTHSIDE_PHYSIO_ACCOUNT_ID for e in events)
    with pytest.raises(stripe.oauth_error.InvalidClientError):
        client.oauth.deauthorize({"stripe_user_id": NORTHSIDE_PHYSIO_ACCOUNT_ID})


def test_module_level_oauth_helpers(sandbox, monkeypatch):
    monkeypatch.setattr(stripe, "api_key", PLATFORM_KEY)
    monkeypatch.setattr(stripe, "client_id", CLIENT_ID)
    monkeypatch.setattr(stripe, "connect_api_base", sandbox.url)
    monkeypatch.setattr(stripe, "api_base", sandbox.url)
    url = stripe.OAuth.authorize_url(scope="read_write", state="m-1", redirect_uri=REDIRECT)
    # stripe-python binds connect_api_base for authorize_url at import time, so only its query
    # string is used here; token and deauthorize follow stripe.connect_api_base.
    query = urlsplit(url).query
    page = http("GET", f"{sandbox.url}/oauth/authorize?{query}", key=None)
    form = FormFields()
    form.feed(page.body)
    status, location = submit(
        f"{sandbox.url}/oauth/authorize",
        {**form.hidden, "account": HARBOUR_GP_ACCOUNT_ID, "action": "connect"},
    )
    assert status == 302
    code = parse_qs(urlsplit(location).query)["code"][0]
    token = stripe.OAuth.token(grant_type="authorization_code", code=code)
    assert token["stripe_user_id"] == HARBOUR_GP_ACCOUNT_ID
    assert stripe.OAuth.deauthorize(stripe_user_id=HARBOUR_GP_ACCOUNT_ID)["stripe_user_id"] == (
        HARBOUR_GP_ACCOUNT_ID
    )
    assert re.match(r"^[\w-]+$", form.hidden["state"])
