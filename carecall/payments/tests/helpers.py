"""What the payment tests do over and over: enable the app, connect Stripe, start a call, ask
for a payment, pay it at the sandbox as Stripe.js would, and speak Stripe's webhook dialect."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import stripe
from django.conf import settings
from django.test import Client
from django.urls import reverse

import stripe_sandbox
from carecall.accounts.models import User
from carecall.calls.events import participant_group
from carecall.calls.models import Participant, ParticipantKind, Visit
from carecall.calls.realtime import Listener, hub
from carecall.calls.schemas import parse_outbound
from carecall.calls.services import visit_create, visit_join
from carecall.clinic_apps.models import AppKey
from carecall.clinic_apps.services import app_request_create, app_request_decide
from carecall.orgs.models import Clinic
from carecall.payments.models import PaymentRequest, StripeConnection
from carecall.payments.schemas import PaymentOut
from carecall.payments.services.connection import connection_complete
from carecall.payments.services.requests import payment_request_create
from testsupport.world import World, client_for

HARBOUR = stripe_sandbox.HARBOUR_GP_ACCOUNT_ID
NORTHSIDE = stripe_sandbox.NORTHSIDE_PHYSIO_ACCOUNT_ID
CALLBACK_URL = "http://testserver/payments/stripe/oauth/callback/"


# ----------------------------------------------------------------------------- set-up


def enable_payment_gateway(world: World, *clinics: Clinic) -> None:
    """The org admin asks, the operator approves."""
    request = app_request_create(
        actor=world.org_admin,
        organisation=world.organisation,
        app=AppKey.PAYMENT_GATEWAY,
        clinics=list(clinics),
        manager_name="Olivia Nguyen",
        manager_email="olivia@example.test",
        manager_phone="+61 2 9000 0000",
        accept_terms=True,
    )
    app_request_decide(actor=world.operator, request=request, approve=True, comment="")


def consent(
    sandbox: stripe_sandbox.SandboxServer,
    *,
    state: str = "state-for-tests",
    account: str = HARBOUR,
    action: str = "connect",
    redirect_uri: str = CALLBACK_URL,
    new_account: dict[str, str] | None = None,
) -> str:
    """Submit the sandbox's Connect consent form; returns where Stripe redirects the browser."""
    form = {
        "client_id": settings.STRIPE_CONNECT_CLIENT_ID,
        "response_type": "code",
        "scope": "read_write",
        "state": state,
        "redirect_uri": redirect_uri,
        "action": action,
        "account": "new" if new_account else account,
        **(new_account or {}),
    }
    status, headers, _body = raw_http(
        sandbox,
        "POST",
        "/oauth/authorize",
        body=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 302, _body
    return headers["location"]


def oauth_code(sandbox: stripe_sandbox.SandboxServer, account: str = HARBOUR) -> str:
    location = consent(sandbox, account=account)
    return parse_qs(urlsplit(location).query)["code"][0]


def connect_clinic(
    world: World, sandbox: stripe_sandbox.SandboxServer, clinic: Clinic, account: str = HARBOUR
) -> StripeConnection:
    return connection_complete(
        actor=world.org_admin, clinic=clinic, code=oauth_code(sandbox, account)
    )


@dataclass
class Call:
    visit: Visit
    token: str  # the patient's link token: /v/<token>/
    patient: Participant

    def payer_url(self, pr: PaymentRequest | None = None, action: str = "") -> str:
        if pr is None:
            return reverse("payments:payer_payments", args=["v", self.token])
        url = reverse("payments:payer_payment", args=["v", self.token, str(pr.pk)])
        return url + (f"{action}/" if action else "")

    def staff_url(self) -> str:
        return reverse("payments:visit_payments", args=[self.visit.clinic_id, self.visit.pk])

    def cancel_url(self, pr: PaymentRequest) -> str:
        return reverse(
            "payments:visit_payment_cancel", args=[self.visit.clinic_id, self.visit.pk, pr.pk]
        )


def start_call(
    world: World,
    clinic: Clinic | None = None,
    clinician: User | None = None,
    first_name: str = "Pat",
    last_name: str = "Jones",
) -> Call:
    """A patient enters the waiting area and a clinician joins them."""
    visit, token = visit_create(
        clinic=clinic or world.harbour,
        first_name=first_name,
        last_name=last_name,
        phone="",
        accepted_terms=True,
    )
    visit_join(actor=clinician or world.clinician, visit=visit)
    visit.refresh_from_db()
    patient = Participant.objects.get(visit=visit, kind=ParticipantKind.PATIENT)
    return Call(visit=visit, token=token, patient=patient)


def request_payment(
    world: World,
    call: Call,
    amount: str = "85.00",
    description: str = "Standard consultation",
    payer_id: str | None = None,
    actor: User | None = None,
) -> PaymentRequest:
    return payment_request_create(
        actor=actor or world.clinician,
        visit=call.visit,
        amount_text=amount,
        description=description,
        payer_id=payer_id,
    )


def post_json(client: Client, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(data), content_type="application/json")


# ----------------------------------------------------------------------------- the sandbox


def raw_http(
    sandbox: stripe_sandbox.SandboxServer,
    method: str,
    path: str,
    *,
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Plain HTTP to the sandbox, without following redirects."""
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()


def stripe_client(sandbox: stripe_sandbox.SandboxServer) -> stripe.StripeClient:
    """The platform's key against the sandbox, as our own code would use it."""
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": sandbox.url, "connect": sandbox.url},
        max_network_retries=0,
    )


def pay_at_stripe(
    sandbox: stripe_sandbox.SandboxServer, pr: PaymentRequest, payment_method: str = "pm_card_visa"
) -> dict[str, Any]:
    """Confirm the PaymentIntent with a test card, as Stripe.js does in the patient's browser."""
    assert pr.payment_intent_id
    intent = stripe_client(sandbox).v1.payment_intents.confirm(
        pr.payment_intent_id,
        {"payment_method": payment_method},
        {"stripe_account": pr.stripe_account_id},
    )
    return dict(intent.to_dict())


def decline_at_stripe(
    sandbox: stripe_sandbox.SandboxServer,
    pr: PaymentRequest,
    payment_method: str = "pm_card_chargeDeclined",
) -> str:
    try:
        pay_at_stripe(sandbox, pr, payment_method)
    except stripe.CardError as error:
        return str(error.user_message)
    raise AssertionError("the card was not declined")


def intent_at_stripe(sandbox: stripe_sandbox.SandboxServer, pr: PaymentRequest) -> dict[str, Any]:
    assert pr.payment_intent_id
    intent = stripe_client(sandbox).v1.payment_intents.retrieve(
        pr.payment_intent_id, {}, {"stripe_account": pr.stripe_account_id}
    )
    return dict(intent.to_dict())


def intents_at_stripe(sandbox: stripe_sandbox.SandboxServer, account: str) -> list[dict[str, Any]]:
    listed = stripe_client(sandbox).v1.payment_intents.list(
        {"limit": 100}, {"stripe_account": account}
    )
    return [dict(pi.to_dict()) for pi in listed.data]


def stripe_events(
    sandbox: stripe_sandbox.SandboxServer, account: str, event_type: str, object_id: str
) -> list[dict[str, Any]]:
    """Events exactly as Stripe's /v1/events lists them (raw JSON, not SDK objects)."""
    status, _headers, body = raw_http(
        sandbox,
        "GET",
        "/v1/events?" + urlencode({"type": event_type, "limit": 100}),
        headers={
            "Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}",
            "Stripe-Account": account,
        },
    )
    assert status == 200, body
    return [e for e in json.loads(body)["data"] if e["data"]["object"].get("id") == object_id]


def stripe_event(
    sandbox: stripe_sandbox.SandboxServer, pr: PaymentRequest, event_type: str
) -> dict[str, Any]:
    assert pr.payment_intent_id
    (event,) = stripe_events(sandbox, pr.stripe_account_id, event_type, pr.payment_intent_id)
    return event


def sandbox_accounts(sandbox: stripe_sandbox.SandboxServer) -> dict[str, dict[str, Any]]:
    status, _headers, body = raw_http(sandbox, "GET", "/_sandbox/accounts")
    assert status == 200
    data = json.loads(body)
    rows = data["data"] if isinstance(data, dict) else data
    return {a["id"]: a for a in rows}


# ----------------------------------------------------------------------------- webhooks


def signature_for(body: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """Stripe's scheme: t=<unix time>,v1=<hex HMAC-SHA256(secret, "t.body")>."""
    t = int(time.time()) if timestamp is None else timestamp
    key = (secret or settings.STRIPE_WEBHOOK_SECRET).encode()
    mac = hmac.new(key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event_body(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def post_webhook(client: Client, body: bytes, signature: str | None = None) -> Any:
    return client.generic(
        "POST",
        reverse("payments:stripe_webhook"),
        body,
        content_type="application/json",
        headers={"Stripe-Signature": signature if signature is not None else signature_for(body)},
    )


def deliver_webhook(client: Client, body: bytes, signature: str | None = None) -> Any:
    """Stripe posts the event (the view only stores it), then a worker runs everything queued:
    what production does moments apart."""
    from carecall.jobs.worker import worker_drain

    response = post_webhook(client, body, signature)
    worker_drain()
    return response


# ----------------------------------------------------------------------------- websockets


class CallListener:
    """A member of one participant's group: receives what that person's browsers receive.

    By default the call's (first) clinician, who is told about every payment request of the
    call; `participant` listens as someone else (the payer, another guest)."""

    def __init__(self, visit: Visit, participant: Participant | None = None) -> None:
        if participant is None:
            participant = Participant.objects.filter(
                visit=visit, kind=ParticipantKind.CLINICIAN
            ).earliest("created_at")
        self.listener = Listener()
        hub.add(participant_group(participant.pk), self.listener)

    def payments(self) -> list[PaymentOut]:
        """Every `payment` message so far, each checked against its declared schema."""
        out = []
        for event in self.listener.take():
            message = parse_outbound(event.payload)
            if isinstance(message, PaymentOut):
                out.append(message)
        return out


RECEIPT_ADDRESS = "Level 2, 10 Harbour St\nSydney NSW 2000"


def receipt_settings_post(world: World, persona: str = "clinic_admin", **fields: str) -> Any:
    """Save Harbour GP's payment settings page with full receipt details (as typed: the ABN
    without spaces, the provider number in lower case), `fields` overriding any of them."""
    data = {
        "form": "payment_settings",
        "pay-payment_max_amount": "10000.00",
        "pay-contact_email": "desk@harbour.test",
        "pay-contact_phone": "+61 2 9000 1234",
        "pay-legal_name": "Smith & Jones Medical Pty Ltd",
        "pay-address": RECEIPT_ADDRESS,
        "pay-business_number": "51824753556",
        f"pay-provider_{world.clinician.pk}": "2123456a",
    }
    data.update({f"pay-{k}": v for k, v in fields.items()})
    return client_for(world.persona(persona)).post(
        reverse("orgs:clinic_edit", args=[world.harbour.pk]), data
    )
