"""The one scene every bad-input case runs against: Harbour GP with the Payment Gateway and
its Stripe account connected, a patient in a call with its clinician, one open payment
request, one paid one, a guest link not yet claimed and a pending invitation (with a known
link). `url(target)` turns a catalogue target into the path it names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.urls import reverse

import stripe_sandbox
from carecall.calls.models import Visit
from carecall.calls.services import guest_invite_create
from carecall.orgs.invitations import invitation_create, token_hash
from carecall.orgs.models import Invitation, Role
from carecall.payments.models import PaymentRequest
from carecall.payments.services.intents import payment_request_reconcile
from carecall.payments.tests.helpers import Call, pay_at_stripe, request_payment, start_call

INVITATION_TOKEN = "bad-input-catalogue-invitation-token-0123456789"


@dataclass
class Scene:
    world: Any  # conftest.World: the personas
    call: Call
    open_request: PaymentRequest
    paid_request: PaymentRequest
    guest_token: str

    def ids(self) -> dict[str, str]:
        """What a case's values may name as {name}."""
        w = self.world
        return {
            "harbour": str(w.harbour.pk),
            "northside": str(w.northside.pk),
            "other_clinic": str(w.other_clinic.pk),
            "clinician_id": str(w.clinician.pk),
            "patient": str(self.call.patient.pk),
            "visit": str(self.call.visit.pk),
        }

    def url(self, target: str) -> str:
        w, call = self.world, self.call
        harbour, org = w.harbour.pk, w.organisation.pk
        urls = {
            "entry": lambda: reverse("calls:entry", args=[w.harbour.slug]),
            "guest_join": lambda: reverse("calls:guest", args=[self.guest_token]),
            "sign_in": lambda: reverse("accounts:sign_in"),
            "password_reset": lambda: reverse("accounts:password_reset"),
            "invitation": lambda: reverse("orgs:invitation", args=[INVITATION_TOKEN]),
            "clinic_invite": lambda: reverse("orgs:clinic_invite", args=[harbour]),
            "org_invite": lambda: reverse("orgs:organisation_invite", args=[org]),
            "operator_org_create": lambda: reverse("orgs:operator_organisation_create"),
            "clinic_create": lambda: reverse("orgs:clinic_create", args=[org]),
            "clinic_edit": lambda: reverse("orgs:clinic_edit", args=[harbour]),
            "waiting_settings": lambda: reverse("calls:waiting_area_settings", args=[harbour]),
            "org_apps": lambda: reverse("clinic_apps:organisation_apps", args=[org]),
            "refund": lambda: reverse(
                "payments:payment_refund", args=[harbour, self.paid_request.pk]
            ),
            "request_payment": call.staff_url,
            "cancel": lambda: call.cancel_url(self.open_request),
            "payer_email": lambda: call.payer_url(self.open_request, "email"),
            "payer_complete": lambda: call.payer_url(self.open_request, "complete"),
            "clinic_payments": lambda: reverse("payments:clinic_payments", args=[harbour]),
            "clinic_csv": lambda: reverse("payments:clinic_payments_csv", args=[harbour]),
            "clinic_report": lambda: reverse("payments:clinic_report", args=[harbour]),
            "org_payments": lambda: reverse("payments:org_payments", args=[org]),
            "org_csv": lambda: reverse("payments:org_payments_csv", args=[org]),
            "org_report": lambda: reverse("payments:org_report", args=[org]),
            "org_audit": lambda: reverse("audit:organisation", args=[org]),
            "operator_audit": lambda: reverse("audit:operator"),
            "webhook": lambda: reverse("payments:stripe_webhook"),
        }
        return urls[target]()

    def client(self, persona: str) -> Client:
        """A browser as `persona`: a world persona, "patient" or "guest" (their links are their
        key: no sign-in), or "anonymous"."""
        client = Client(raise_request_exception=False)
        user = (
            None if persona in ("anonymous", "patient", "guest") else getattr(self.world, persona)
        )
        if user is not None:
            client.force_login(user)
        return client


def scene_build(world: Any, sandbox: stripe_sandbox.SandboxServer) -> Scene:
    call = start_call(world)
    open_request = request_payment(world, call, amount="40.00", description="Follow-up")
    paid = request_payment(world, call, amount="85.00", description="Standard consultation")
    pay_at_stripe(sandbox, paid)
    paid = payment_request_reconcile(payment_request=paid)
    _guest, guest_url = guest_invite_create(
        actor=world.clinician, visit=Visit.objects.get(pk=call.visit.pk), base_url="http://t"
    )
    invitation = invitation_create(
        actor=world.clinic_admin,
        organisation=world.organisation,
        clinic=world.harbour,
        email="newcomer@example.test",
        role=Role.CLINICIAN,
    )
    # The emailed link's token is random; this one is known to the cases.
    Invitation.objects.filter(pk=invitation.pk).update(token_hash=token_hash(INVITATION_TOKEN))
    return Scene(
        world=world,
        call=call,
        open_request=open_request,
        paid_request=paid,
        guest_token=guest_url.rstrip("/").rsplit("/", 1)[-1],
    )
