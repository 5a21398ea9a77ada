"""A clinic's payment settings on its settings page (/clinics/<id>/edit/, "Payments"): the
largest payment a clinician may request (a decimal in the clinic's currency, read with that
currency's decimals) and the contact details printed on receipts. Clinic admins and org admins
only; bad input gets a message and changes nothing."""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

import stripe_sandbox
from carecall.audit.models import AuditEntry
from carecall.core.errors import ServiceError
from carecall.orgs.models import Clinic
from carecall.payments.audit_actions import PaymentAction
from carecall.payments.clinic_settings import clinic_payment_settings_update
from carecall.payments.models import PaymentRequest
from carecall.payments.tests.helpers import Call, request_payment
from testsupport.world import World, client_for


def _url(clinic: Clinic) -> str:
    return reverse("orgs:clinic_edit", args=[clinic.pk])


def _post(world: World, persona: str, clinic: Clinic, **fields: str) -> Any:
    data = {
        "form": "payment_settings",
        "pay-payment_max_amount": "2500.00",
        "pay-contact_email": "Front.Desk@Harbour.test",
        "pay-contact_phone": "+61 2 9000 1234",
    }
    data.update({f"pay-{k}": v for k, v in fields.items()})
    return client_for(world.persona(persona)).post(_url(clinic), data)


def _settings(clinic: Clinic) -> tuple[Decimal, str, str]:
    clinic.refresh_from_db()
    return clinic.payment_max_amount, clinic.contact_email, clinic.contact_phone


@pytest.mark.parametrize("persona", ["clinic_admin", "org_admin"])
def test_clinic_and_org_admins_see_and_change_the_payment_settings(
    world: World, persona: str
) -> None:
    page = client_for(world.persona(persona)).get(_url(world.harbour)).content.decode()
    assert "Largest payment a clinician may request" in page
    assert 'value="10000.00"' in page  # the default, as a decimal in AUD
    assert "Amounts are in AUD" in page

    response = _post(world, persona, world.harbour)

    assert response.status_code == 302
    assert response["Location"] == _url(world.harbour)
    assert _settings(world.harbour) == (
        Decimal("2500.00"),
        "front.desk@harbour.test",
        "+61 2 9000 1234",
    )
    (entry,) = AuditEntry.objects.filter(action=PaymentAction.CLINIC_PAYMENT_SETTINGS)
    assert entry.actor == world.persona(persona)
    assert entry.clinic == world.harbour
    assert "largest payment request AUD 10,000.00 → AUD 2,500.00" in entry.summary
    page = client_for(world.persona(persona)).get(_url(world.harbour)).content.decode()
    assert 'value="2500.00"' in page and 'value="+61 2 9000 1234"' in page

    # Saving the same values again changes nothing and writes no second entry.
    again = client_for(world.persona(persona)).post(
        _url(world.harbour),
        {
            "form": "payment_settings",
            "pay-payment_max_amount": "2500",
            "pay-contact_email": "front.desk@harbour.test",
            "pay-contact_phone": "+61 2 9000 1234",
        },
        follow=True,
    )
    assert "Payment settings saved." in again.content.decode()
    assert AuditEntry.objects.filter(action=PaymentAction.CLINIC_PAYMENT_SETTINGS).count() == 1


@pytest.mark.parametrize(
    ("persona", "status"),
    [("clinician", 403), ("other_clinician", 403), ("outsider", 404), ("operator", 404)],
)
def test_others_cannot_change_the_payment_settings(world: World, persona: str, status: int) -> None:
    before = _settings(world.harbour)

    assert client_for(world.persona(persona)).get(_url(world.harbour)).status_code == status
    assert _post(world, persona, world.harbour).status_code == status

    assert _settings(world.harbour) == before
    assert not AuditEntry.objects.filter(action=PaymentAction.CLINIC_PAYMENT_SETTINGS).exists()


def test_anonymous_is_sent_to_sign_in(world: World) -> None:
    response = _post(world, "anonymous", world.harbour)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:sign_in"))
    assert _settings(world.harbour)[0] == Decimal("10000.00")


def test_the_service_refuses_a_clinician_and_another_organisation(world: World) -> None:
    """The rule holds whatever calls the service (the view is not the only guard)."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    fields: dict[str, Any] = {
        "payment_max_amount": "1.00",
        "contact_email": "",
        "contact_phone": "",
    }
    with pytest.raises(PermissionDenied):
        clinic_payment_settings_update(actor=world.clinician, clinic=world.harbour, **fields)
    with pytest.raises(Http404):
        clinic_payment_settings_update(actor=world.outsider, clinic=world.harbour, **fields)
    assert _settings(world.harbour)[0] == Decimal("10000.00")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "payment_max_amount",
            "-50",
            "Largest payment request: The amount must be more than zero.",
        ),
        (
            "payment_max_amount",
            "100.005",
            "Largest payment request: AUD amounts have at most 2 decimals.",
        ),
        (
            "payment_max_amount",
            "lots",
            "Largest payment request: Enter the amount as a number, for example 85.00.",
        ),
        (
            "payment_max_amount",
            "0.10",
            "Largest payment request: The smallest amount Stripe accepts is AUD 0.50.",
        ),
        (
            "payment_max_amount",
            "5000000",
            "Largest payment request: That amount is too large for one card payment.",
        ),
        ("payment_max_amount", "", "This field is required."),
        ("contact_email", "not-an-email", "Enter a valid email address."),
        (
            "contact_phone",
            "call us!",
            "Enter the contact phone number with digits, spaces and + ( ) - only, "
            "at most 32 characters.",
        ),
    ],
    ids=[
        "negative",
        "too-many-decimals",
        "not-a-number",
        "below-stripe-minimum",
        "huge",
        "empty",
        "bad-email",
        "bad-phone",
    ],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(
    world: World, field: str, value: str, message: str
) -> None:
    before = _settings(world.harbour)

    response = _post(world, "clinic_admin", world.harbour, **{field: value})

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert message in page
    assert f'value="{value}"' in page or not value  # what was typed stays in the form
    assert _settings(world.harbour) == before
    assert not AuditEntry.objects.filter(action=PaymentAction.CLINIC_PAYMENT_SETTINGS).exists()


def test_a_zero_decimal_currency_is_read_with_its_own_decimals(world: World) -> None:
    world.harbour.currency = "JPY"
    world.harbour.save()
    page = client_for(world.clinic_admin).get(_url(world.harbour)).content.decode()
    assert 'value="10000"' in page

    refused = _post(world, "clinic_admin", world.harbour, payment_max_amount="5000.50")
    assert "JPY amounts have no decimals." in html.unescape(refused.content.decode())
    assert _settings(world.harbour)[0] == Decimal("10000.00")

    assert _post(world, "org_admin", world.harbour, payment_max_amount="50,000").status_code == 302
    assert _settings(world.harbour)[0] == Decimal("50000")


def test_the_new_maximum_is_what_a_clinician_can_request(
    connected: World, call: Call, django_capture_on_commit_callbacks: Any
) -> None:
    assert (
        _post(connected, "clinic_admin", connected.harbour, payment_max_amount="80").status_code
        == 302
    )

    with pytest.raises(ServiceError) as refused:
        request_payment(connected, call, amount="85.00")
    assert refused.value.message == "The largest amount allowed here is AUD 80.00."
    with django_capture_on_commit_callbacks(execute=True):
        assert request_payment(connected, call, amount="80.00").amount == 8000
    assert PaymentRequest.objects.count() == 1


def test_the_currency_cannot_change_while_a_stripe_account_is_connected(
    connected: World, sandbox: stripe_sandbox.SandboxServer
) -> None:
    from carecall.orgs.services import clinic_update
    from carecall.payments.models import StripeConnection

    harbour = connected.harbour
    with pytest.raises(ServiceError) as refused:
        clinic_update(
            actor=connected.clinic_admin,
            clinic=harbour,
            name=harbour.name,
            timezone=harbour.timezone,
            currency="USD",
        )
    assert refused.value.field == "currency"
    assert "Stripe account is connected" in refused.value.message
    harbour.refresh_from_db()
    assert harbour.currency == "AUD"

    StripeConnection.objects.filter(clinic=harbour).delete()
    clinic_update(
        actor=connected.clinic_admin,
        clinic=harbour,
        name=harbour.name,
        timezone=harbour.timezone,
        currency="USD",
    )
    harbour.refresh_from_db()
    assert harbour.currency == "USD"
