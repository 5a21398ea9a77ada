"""Every payments endpoint, as each persona: org admin, clinic admin and clinician of Harbour GP,
a clinician of Northside, another organisation's admin, the operator, anonymous, this visit's
patient and another visit's patient (patients have no account: a link is their only key)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

import stripe_sandbox
from carecall.payments.models import PaymentRequest, PaymentStatus, StripeConnection
from carecall.payments.tests.helpers import Call, post_json, request_payment, start_call
from testsupport.world import PERSONAS, World, client_for

SIGN_IN = "SIGN_IN"
TO_STRIPE = "TO_STRIPE"
EVERYONE = [*PERSONAS, "patient", "other_patient"]


@dataclass
class Scene:
    world: World
    call: Call  # Pat Jones with Harbour GP's clinician
    other: Call  # another patient of Harbour GP
    pr: PaymentRequest  # asked of Pat in the call
    sandbox: stripe_sandbox.SandboxServer

    def client(self, persona: str) -> Client:
        if persona in ("patient", "other_patient"):
            browser = Client()
            token = self.call.token if persona == "patient" else self.other.token
            browser.get(f"/v/{token}/")  # the patient's own page, in their browser
            return browser
        return client_for(self.world.persona(persona))

    def payer_call(self, persona: str) -> Call:
        """The link this persona holds: their own, or (staff, strangers) a made-up one."""
        if persona == "patient":
            return self.call
        if persona == "other_patient":
            return self.other
        return Call(visit=self.call.visit, token="made-up-token", patient=self.call.patient)


@pytest.fixture
def scene(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> Scene:
    other = start_call(connected, first_name="Sam", last_name="Other")
    with django_capture_on_commit_callbacks(execute=True):
        pr = request_payment(connected, call)
    return Scene(world=connected, call=call, other=other, pr=pr, sandbox=sandbox)


# In the order of EVERYONE: org_admin, clinic_admin, clinician, other_clinician, outsider,
# operator, anonymous, patient, other_patient
MANAGERS_ONLY = [200, 200, 403, 403, 404, 404, SIGN_IN, SIGN_IN, SIGN_IN]
STRIPE_MANAGERS = [TO_STRIPE, TO_STRIPE, 403, 403, 404, 404, SIGN_IN, SIGN_IN, SIGN_IN]
MANAGERS_REDIRECT = [302, 302, 403, 403, 404, 404, SIGN_IN, SIGN_IN, SIGN_IN]
CLINIC_MEMBERS = [200, 200, 200, 403, 404, 404, SIGN_IN, SIGN_IN, SIGN_IN]
CLINICIAN_IN_CALL = [403, 403, 201, 403, 404, 404, SIGN_IN, SIGN_IN, SIGN_IN]
IN_CALL_OR_MANAGERS = [200, 200, 200, 403, 404, 404, SIGN_IN, SIGN_IN, SIGN_IN]
SIGNED_IN_ONLY = [302, 302, 302, 302, 302, 302, SIGN_IN, SIGN_IN, SIGN_IN]

Staff = tuple[str, Callable[[Scene], str], dict[str, Any], list[object]]

STAFF: dict[str, Staff] = {
    "customer payments page": (
        "get",
        lambda s: reverse("payments:customer_payments", args=[s.world.harbour.pk]),
        {},
        MANAGERS_ONLY,
    ),
    "go to stripe": (
        "post",
        lambda s: reverse("payments:connect_start", args=[s.world.harbour.pk]),
        {},
        STRIPE_MANAGERS,
    ),
    "remove stripe account": (
        "post",
        lambda s: reverse("payments:connect_remove", args=[s.world.harbour.pk]),
        {},
        MANAGERS_REDIRECT,
    ),
    "oauth callback without a pending state": (
        "get",
        lambda s: reverse("payments:oauth_callback") + "?code=ac_x&state=x",
        {},
        SIGNED_IN_ONLY,
    ),
    "payments panel in the call": ("get", lambda s: s.call.staff_url(), {}, CLINIC_MEMBERS),
    "request a payment": (
        "json",
        lambda s: s.call.staff_url(),
        {"amount": "40", "description": "Follow-up"},
        CLINICIAN_IN_CALL,
    ),
    "cancel a payment": ("post", lambda s: s.call.cancel_url(s.pr), {}, IN_CALL_OR_MANAGERS),
}

STAFF_CASES = [
    pytest.param(name, persona, expected[i], id=f"{name}-as-{persona}")
    for name, (_m, _u, _d, expected) in STAFF.items()
    for i, persona in enumerate(EVERYONE)
]


@pytest.mark.parametrize(("name", "persona", "expected"), STAFF_CASES)
def test_staff_endpoint_answers_each_persona_as_their_role_allows(
    scene: Scene, name: str, persona: str, expected: object
) -> None:
    method, url_for, data, _expected = STAFF[name]
    url = url_for(scene)
    client = scene.client(persona)
    if method == "get":
        response = client.get(url)
    elif method == "json":
        response = post_json(client, url, data)
    else:
        response = client.post(url, data)

    if expected == SIGN_IN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:sign_in"))
    elif expected == TO_STRIPE:
        assert response.status_code == 302
        assert response["Location"].startswith(f"{scene.sandbox.url}/oauth/authorize?")
    else:
        assert response.status_code == expected, response.content[:300]

    # What the refused did not get to change.
    allowed = expected not in (SIGN_IN, 403, 404)
    if name == "remove stripe account":
        assert StripeConnection.objects.filter(clinic=scene.world.harbour).exists() != allowed
    if name == "request a payment":
        assert PaymentRequest.objects.count() == (2 if allowed else 1)
    if name == "cancel a payment":
        scene.pr.refresh_from_db()
        cancelled = scene.pr.status == PaymentStatus.CANCELLED
        assert cancelled == allowed


# ----------------------------------------------------------------------------- the payer's links

# patient: 200 everywhere; the other visit's patient: their own (empty) list, 404 for this
# request; everyone else holds no link to this visit, and a made-up one opens nothing.
PAYER: dict[str, tuple[str, str, dict[object, object]]] = {
    "list": ("get", "", {"patient": 200, "other_patient": 200}),
    "open": ("get", "one", {"patient": 200}),
    "receipt email": ("json", "email", {"patient": 200}),
    "complete": ("json", "complete", {"patient": 200}),
}

PAYER_CASES = [
    pytest.param(name, persona, id=f"{name}-as-{persona}") for name in PAYER for persona in EVERYONE
]


@pytest.mark.parametrize(("name", "persona"), PAYER_CASES)
def test_payer_endpoint_answers_only_the_payer_of_the_request(
    scene: Scene, name: str, persona: str
) -> None:
    method, action, allowed = PAYER[name]
    expected = allowed.get(persona, 404)
    held = scene.payer_call(persona)
    if action == "":
        url = held.payer_url()
    else:
        url = held.payer_url(scene.pr, "" if action == "one" else action)
    client = scene.client(persona)
    if method == "get":
        response = client.get(url)
    else:
        # Each endpoint's own declared body (complete takes none: an email there is refused).
        body = {"email": "someone@example.test"} if action == "email" else {}
        response = post_json(client, url, body)

    assert response.status_code == expected, response.content[:300]
    if name == "list" and expected == 200:
        ids = [r["id"] for r in response.json()["requests"]]
        assert (str(scene.pr.pk) in ids) == (persona == "patient")
    scene.pr.refresh_from_db()
    assert scene.pr.receipt_email == (
        "someone@example.test" if name == "receipt email" and persona == "patient" else ""
    )


def test_the_webhook_takes_only_signed_posts(scene: Scene) -> None:
    url = reverse("payments:stripe_webhook")
    assert Client().get(url).status_code == 405
    assert Client().post(url, data="{}", content_type="application/json").status_code == 400
