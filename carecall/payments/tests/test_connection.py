"""Configure > Customer payments: Stripe Connect OAuth against the sandbox, Change, Remove, and
Stripe telling us the clinic disconnected."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import stripe_sandbox
from carecall.orgs.models import Clinic
from carecall.payments.models import PaymentRequest, PaymentStatus, StripeConnection, StripeEvent
from carecall.payments.services import cancellation, connection
from carecall.payments.services.connection import connection_complete
from carecall.payments.tests.helpers import (
    CALLBACK_URL,
    HARBOUR,
    NORTHSIDE,
    Call,
    connect_clinic,
    consent,
    deliver_webhook,
    enable_payment_gateway,
    intent_at_stripe,
    oauth_code,
    pay_at_stripe,
    post_json,
    raw_http,
    request_payment,
    sandbox_accounts,
    start_call,
)
from carecall.payments.tests.webhook_recorder import WebhookRecorder
from testsupport.world import World, client_for

OAUTH_SESSION_KEY = "carecall_stripe_oauth"


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _page_url(clinic: Clinic) -> str:
    return reverse("payments:customer_payments", args=[clinic.pk])


def _go_to_stripe(client: Client, clinic: Clinic) -> str:
    """Press Go to Stripe (or Change); returns the state the browser carries to Stripe."""
    response = client.post(reverse("payments:connect_start", args=[clinic.pk]))
    assert response.status_code == 302, response.content[:300]
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def _come_back(client: Client, location: str) -> Any:
    """Stripe redirects the browser back to our callback."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK_URL
    return client.get(f"{parts.path}?{parts.query}")


def _connect_through_pages(
    client: Client,
    sandbox: stripe_sandbox.SandboxServer,
    clinic: Clinic,
    account: str = HARBOUR,
    new_account: dict[str, str] | None = None,
) -> Any:
    state = _go_to_stripe(client, clinic)
    return _come_back(
        client, consent(sandbox, state=state, account=account, new_account=new_account)
    )


# ----------------------------------------------------------------------------- before enabling


def test_customer_payments_says_not_enabled_and_how_to_request_it(
    world: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    client = client_for(world.clinic_admin)
    page = client.get(_page_url(world.harbour))

    assert page.status_code == 200
    html = page.content.decode()
    assert "The Payment Gateway app is not enabled for Harbour GP yet." in html
    assert "requests it under Apps" in html
    assert reverse("clinic_apps:clinic_apps", args=[world.harbour.pk]) in html
    assert "Go to Stripe" not in html

    response = client.post(reverse("payments:connect_start", args=[world.harbour.pk]))
    assert response["Location"] == _page_url(world.harbour)
    assert any("not enabled for Harbour GP" in m for m in _messages(response))
    assert OAUTH_SESSION_KEY not in client.session


# ----------------------------------------------------------------------------- connecting


def test_go_to_stripe_redirects_to_authorize_with_read_write_and_a_session_bound_state(
    world: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    enable_payment_gateway(world, world.harbour)
    client = client_for(world.clinic_admin)
    assert "Go to Stripe" in client.get(_page_url(world.harbour)).content.decode()

    response = client.post(reverse("payments:connect_start", args=[world.harbour.pk]))

    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{sandbox.url}/oauth/authorize"
    )
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["scope"] == "read_write"
    assert query["response_type"] == "code"
    assert query["client_id"] == "ca_carecall_tests"
    assert query["redirect_uri"] == CALLBACK_URL
    pending = client.session[OAUTH_SESSION_KEY]
    assert pending == {"state": query["state"], "clinic_id": world.harbour.pk}
    assert len(query["state"]) >= 32

    # The browser lands on Stripe's consent page, which offers the test accounts.
    status, _headers, body = raw_http(sandbox, "GET", f"{location.path}?{location.query}")
    assert status == 200
    assert "Harbour GP Pty Ltd" in body.decode()


def test_callback_with_the_right_state_stores_the_account_and_its_details(
    world: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    enable_payment_gateway(world, world.harbour)
    client = client_for(world.clinic_admin)

    response = _connect_through_pages(client, sandbox, world.harbour)

    assert response["Location"] == _page_url(world.harbour)
    assert any(
        "Connected Harbour GP Pty Ltd (acct_1SbxHarbourGP001)" in m for m in _messages(response)
    )
    connection = StripeConnection.objects.get(clinic=world.harbour)
    assert connection.account_id == HARBOUR
    assert connection.account_name == "Harbour GP Pty Ltd"
    assert connection.country == "AU"
    assert connection.default_currency == "AUD"
    assert connection.charges_enabled is True
    assert connection.connected_by == world.clinic_admin
    assert OAUTH_SESSION_KEY not in client.session
    assert sandbox_accounts(sandbox)[HARBOUR]["connected"] is True

    page = client.get(_page_url(world.harbour)).content.decode()
    for shown in ("Harbour GP Pty Ltd", HARBOUR, "AU", "AUD", "Change Stripe account", "Remove"):
        assert shown in page


def test_callback_state_is_single_use_a_replay_is_refused_and_changes_nothing(
    world: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    enable_payment_gateway(world, world.harbour)
    client = client_for(world.clinic_admin)
    state = _go_to_stripe(client, world.harbour)
    location = consent(sandbox, state=state)
    assert _come_back(client, location).status_code == 302
    before = StripeConnection.objects.get(clinic=world.harbour)

    # The same callback again, now with a fresh code for another account: still refused.
    replay = _come_back(client, consent(sandbox, state=state, account=NORTHSIDE))

    assert replay["Location"] == reverse("orgs:home")
    assert any("not valid any more" in m for m in _messages(replay))
    after = StripeConnection.objects.get(clinic=world.harbour)
    assert (after.account_id, after.connected_at) == (before.account_id, before.connected_at)
    assert sandbox_accounts(sandbox)[NORTHSIDE]["connected"] is False


def test_callback_with_a_state_from_another_session_is_refused_and_changes_nothing(
    world: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    enable_payment_gateway(world, world.harbour)
    victim = client_for(world.clinic_admin)
    _go_to_stripe(victim, world.harbour)
    attacker = client_for(world.org_admin)
    attacker_state = _go_to_stripe(attacker, world.harbour)

    # The attacker's own code and state, delivered in the victim's browser.
    response = _come_back(victim, consent(sandbox, state=attacker_state, account=NORTHSIDE))

    assert response["Location"] == reverse("orgs:home")
    assert any("not valid any more" in m for m in _messages(response))
    assert not StripeConnection.objects.exists()
    assert sandbox_accounts(sandbox)[NORTHSIDE]["connected"] is False

    # No state at all, in a session that never went to Stripe.
    stranger = client_for(world.clinic_admin)
    response = stranger.get(reverse("payments:oauth_callback"), {"code": oauth_code(sandbox)})
    assert any("not valid any more" in m for m in _messages(response))
    assert not StripeConnection.objects.exists()


def test_declining_at_stripe_shows_a_message_and_connects_nothing(
    world: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    enable_payment_gateway(world, world.harbour)
    client = client_for(world.clinic_admin)
    state = _go_to_stripe(client, world.harbour)
    location = consent(sandbox, state=state, action="decline")
    assert "error=access_denied" in location

    response = _come_back(client, location)

    assert response["Location"] == _page_url(world.harbour)
    assert "The Stripe account was not connected: The user denied your request" in _messages(
        response
    )
    assert not StripeConnection.objects.exists()


def test_an_account_in_another_currency_becomes_the_clinics_currency(
    world: World, sandbox: stripe_sandbox.SandboxServer, django_capture_on_commit_callbacks: Any
) -> None:
    enable_payment_gateway(world, world.harbour)
    client = client_for(world.org_admin)
    new = {"business_name": "Harbour GP UK", "email": "uk@harbour.test", "country": "GB"}
    _connect_through_pages(client, sandbox, world.harbour, new_account={**new, "currency": "gbp"})

    world.harbour.refresh_from_db()
    assert world.harbour.currency == "GBP"
    connection = StripeConnection.objects.get(clinic=world.harbour)
    assert (connection.account_name, connection.country) == ("Harbour GP UK", "GB")
    assert connection.default_currency == "GBP"

    call = start_call(world)
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(world, call, amount="0.30")
    assert (pr.amount, pr.currency) == (30, "GBP")
    assert intent_at_stripe(sandbox, pr)["currency"] == "gbp"


def test_an_account_in_an_unsupported_currency_is_refused_with_a_message(
    world: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    enable_payment_gateway(world, world.harbour)
    client = client_for(world.clinic_admin)
    new = {"business_name": "Lion City Clinic", "email": "sg@lion.test", "country": "SG"}
    response = _connect_through_pages(
        client, sandbox, world.harbour, new_account={**new, "currency": "sgd"}
    )

    assert "That Stripe account's currency (SGD) is not supported by CareCall." in _messages(
        response
    )
    assert not StripeConnection.objects.exists()
    world.harbour.refresh_from_db()
    assert world.harbour.currency == "AUD"


# ----------------------------------------------------------------------------- change and remove


def test_change_reruns_oauth_replaces_the_account_and_cancels_open_requests_of_the_old_one(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        open_request = request_payment(connected, call, description="Open")
        paid_request = request_payment(connected, call, description="Paid")
    pay_at_stripe(sandbox, paid_request)
    client = client_for(connected.clinic_admin)
    post_json(client, call.payer_url(paid_request, "complete"), {})

    new = {"business_name": "Harbour GP Trust", "email": "trust@harbour.test", "country": "AU"}
    with django_capture_on_commit_callbacks(execute=True):
        response = _connect_through_pages(
            client, sandbox, connected.harbour, new_account={**new, "currency": "aud"}
        )

    assert any("Connected Harbour GP Trust" in m for m in _messages(response))
    connection = StripeConnection.objects.get(clinic=connected.harbour)
    assert connection.account_id != HARBOUR
    assert connection.account_name == "Harbour GP Trust"
    open_request.refresh_from_db()
    assert open_request.status == PaymentStatus.CANCELLED
    assert open_request.cancel_reason == "The clinic changed its Stripe account."
    assert intent_at_stripe(sandbox, open_request)["status"] == "canceled"
    paid_request.refresh_from_db()
    assert paid_request.status == PaymentStatus.PAID
    # The patient is told why.
    answer = client.get(call.payer_url(open_request))
    assert answer.status_code == 409
    assert "The clinic changed its Stripe account." in answer.json()["error"]


def test_change_to_an_account_connected_to_another_clinic_is_refused_and_changes_nothing(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    enable_payment_gateway(connected, connected.northside)
    connect_clinic(connected, sandbox, connected.northside, NORTHSIDE)
    with django_capture_on_commit_callbacks(execute=True):
        open_request = request_payment(connected, call)

    with django_capture_on_commit_callbacks(execute=True):
        response = _connect_through_pages(
            client_for(connected.org_admin), sandbox, connected.harbour, account=NORTHSIDE
        )

    assert "That Stripe account is already connected to Northside Physio." in _messages(response)
    assert StripeConnection.objects.get(clinic=connected.harbour).account_id == HARBOUR
    # Nothing changed, so Harbour's unpaid request must still be payable.
    open_request.refresh_from_db()
    assert open_request.status == PaymentStatus.REQUESTED, open_request.cancel_reason
    assert intent_at_stripe(sandbox, open_request)["status"] == "requires_payment_method"


def test_remove_deauthorises_at_stripe_forgets_the_account_and_cancels_open_requests(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        open_request = request_payment(connected, call)
    client = client_for(connected.clinic_admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("payments:connect_remove", args=[connected.harbour.pk]))

    assert response["Location"] == _page_url(connected.harbour)
    assert "The Stripe account was removed. Unpaid requests were cancelled." in _messages(response)
    assert not StripeConnection.objects.filter(clinic=connected.harbour).exists()
    assert sandbox_accounts(sandbox)[HARBOUR]["connected"] is False
    open_request.refresh_from_db()
    assert open_request.status == PaymentStatus.CANCELLED
    assert open_request.cancel_reason == "The clinic removed its Stripe account."
    page = client.get(_page_url(connected.harbour)).content.decode()
    assert "Go to Stripe" in page
    # Reconnect only to look: the intent was cancelled at Stripe before access was revoked.
    sandbox.connect_account(HARBOUR, "ca_carecall_tests")
    assert intent_at_stripe(sandbox, open_request)["status"] == "canceled"


def test_deauthorized_webhook_forgets_the_account_and_cancels_open_requests(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        open_request = request_payment(connected, call)

    # The clinic disconnects CareCall in its Stripe dashboard; Stripe tells us by webhook.
    sandbox.disconnect_account(HARBOUR)
    assert sandbox.wait_for_webhooks(5)
    (delivery,) = webhooks.of("account.application.deauthorized")
    assert delivery.event["account"] == HARBOUR
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver_webhook(Client(), delivery.body, delivery.signature)

    assert response.status_code == 200
    assert not StripeConnection.objects.filter(clinic=connected.harbour).exists()
    open_request.refresh_from_db()
    assert open_request.status == PaymentStatus.CANCELLED
    assert open_request.cancel_reason == "The clinic's Stripe account was disconnected."
    assert StripeEvent.objects.get(event_id=delivery.event["id"]).outcome == "forgot account"


def test_a_late_deauthorization_does_not_forget_an_account_connected_again_since(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    webhooks: WebhookRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Stripe does not promise order: the deauthorization of a Remove can arrive (retried) after
    the clinic connected the same account again."""
    client = client_for(connected.clinic_admin)
    client.post(reverse("payments:connect_remove", args=[connected.harbour.pk]))
    assert sandbox.wait_for_webhooks(5)
    (late,) = webhooks.of("account.application.deauthorized")
    _connect_through_pages(client, sandbox, connected.harbour, account=HARBOUR)
    with django_capture_on_commit_callbacks(execute=True):
        open_request = request_payment(connected, call)
    assert StripeConnection.objects.filter(clinic=connected.harbour, account_id=HARBOUR).exists()
    assert sandbox_accounts(sandbox)[HARBOUR]["connected"] is True

    with django_capture_on_commit_callbacks(execute=True):
        deliver_webhook(Client(), late.body, late.signature)

    assert StripeConnection.objects.filter(clinic=connected.harbour, account_id=HARBOUR).exists()
    open_request.refresh_from_db()
    assert open_request.status == PaymentStatus.REQUESTED, open_request.cancel_reason


def test_connecting_needs_a_clinic_manager_of_that_clinic(
    connected: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    with pytest.raises(PermissionDenied):
        connection_complete(
            actor=connected.clinician, clinic=connected.harbour, code=oauth_code(sandbox)
        )
    with pytest.raises(Http404):
        connection_complete(
            actor=connected.outsider, clinic=connected.harbour, code=oauth_code(sandbox)
        )
    assert StripeConnection.objects.get(clinic=connected.harbour).account_id == HARBOUR


def test_changing_the_account_sweeps_only_this_clinics_requests_on_the_old_one(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Once Harbour's change commits, another clinic may connect the old account and ask for
    payments on it before Harbour's sweep (one Stripe call per request) is over: those are not
    Harbour's to cancel."""
    with django_capture_on_commit_callbacks(execute=True):
        mine = request_payment(connected, call, description="Harbour's")
        theirs = request_payment(connected, call, description="Northside's")
    PaymentRequest.objects.filter(pk=theirs.pk).update(clinic=connected.northside)

    new = {"business_name": "Harbour GP Trust", "email": "trust@harbour.test", "country": "AU"}
    with django_capture_on_commit_callbacks(execute=True):
        _connect_through_pages(
            client_for(connected.clinic_admin),
            sandbox,
            connected.harbour,
            new_account={**new, "currency": "aud"},
        )

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == PaymentStatus.CANCELLED
    assert theirs.status == PaymentStatus.REQUESTED, theirs.cancel_reason


def test_one_request_failing_to_cancel_does_not_leave_the_others_open(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = request_payment(connected, call, description="First")
        second = request_payment(connected, call, description="Second")
    real_cancel = cancellation.payment_request_cancel_locally

    def cancel(payment_request_id: Any, reason: str, actor: Any = None) -> bool:
        if payment_request_id == first.pk:
            raise RuntimeError("a rule broke on this one")
        return real_cancel(payment_request_id, reason, actor)

    monkeypatch.setattr(cancellation, "payment_request_cancel_locally", cancel)
    client = client_for(connected.clinic_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("payments:connect_remove", args=[connected.harbour.pk]))

    assert response.status_code == 302
    assert not StripeConnection.objects.filter(clinic=connected.harbour).exists()
    second.refresh_from_db()
    assert second.status == PaymentStatus.CANCELLED


def test_removing_while_another_admin_connected_a_new_account_says_so_and_keeps_it(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_deauthorize = connection.get_gateway().oauth_deauthorize

    def deauthorize_while_another_admin_changes(*, account_id: str) -> None:
        real_deauthorize(account_id=account_id)
        StripeConnection.objects.filter(clinic=connected.harbour).update(account_id=NORTHSIDE)

    gateway = connection.get_gateway()
    monkeypatch.setattr(gateway, "oauth_deauthorize", deauthorize_while_another_admin_changes)
    monkeypatch.setattr(connection, "get_gateway", lambda: gateway)
    client = client_for(connected.clinic_admin)
    response = client.post(reverse("payments:connect_remove", args=[connected.harbour.pk]))

    assert any("connected a different Stripe account meanwhile" in m for m in _messages(response))
    assert StripeConnection.objects.get(clinic=connected.harbour).account_id == NORTHSIDE


def test_a_deauthorization_is_ignored_when_the_account_is_connected_again_while_stripe_is_asked(
    connected: World,
    sandbox: stripe_sandbox.SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stripe says access is gone, but by the time the row is locked the clinic has connected
    the account again: that fresh connection is not what the event was about."""
    gateway = connection.get_gateway()
    sandbox.disconnect_account(HARBOUR)
    real_retrieve = gateway.account_retrieve

    def retrieve_while_reconnected(*, account_id: str) -> Any:
        try:
            return real_retrieve(account_id=account_id)
        finally:
            StripeConnection.objects.filter(clinic=connected.harbour).update(
                connected_at=timezone.now() + timedelta(seconds=5)
            )

    monkeypatch.setattr(gateway, "account_retrieve", retrieve_while_reconnected)
    monkeypatch.setattr(connection, "get_gateway", lambda: gateway)

    assert connection.connection_forget_account(account_id=HARBOUR) is False
    assert StripeConnection.objects.filter(clinic=connected.harbour, account_id=HARBOUR).exists()
