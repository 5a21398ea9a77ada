"""Audit actions come from the apps that own them (registered in their AppConfig.ready()):
every value stored before keeps its label, and an action nobody registered is refused."""

from __future__ import annotations

import pytest
from django.db import models

from carecall.audit.actions import audit_action_choices, audit_actions_register
from carecall.audit.models import AuditEntry
from carecall.audit.services import audit_record
from testsupport.world import World

# The values stored by every release so far, with their labels.
STORED = {
    "app.requested": "App requested",
    "app.approved": "App request approved",
    "app.declined": "App request declined",
    "app.disabled": "App disabled",
    "stripe.connected": "Stripe account connected",
    "stripe.changed": "Stripe account changed",
    "stripe.removed": "Stripe account removed",
    "stripe.disconnected": "Stripe account disconnected at Stripe",
    "payment.requested": "Payment requested",
    "payment.cancelled": "Payment cancelled",
    "payment.paid": "Payment paid",
    "payment.expired": "Payment request expired",
    "payment.refunded": "Payment refunded",
    "payment.refund_failed": "Refund failed",
    "payment.receipt_resent": "Receipt resent",
    "clinic.payment_settings": "Clinic payment settings changed",
    "member.added": "Member added",
    "member.role_changed": "Role changed",
    "member.removed": "Member removed",
}


def test_every_stored_action_is_registered_by_its_app_with_its_label() -> None:
    registered = {code: str(label) for code, label in audit_action_choices()}
    assert registered == STORED
    field = AuditEntry._meta.get_field("action")
    assert [code for code, _label in field.choices or []] == list(registered)
    assert AuditEntry(action="payment.refund_failed").get_action_display() == "Refund failed"


@pytest.mark.django_db
def test_an_action_no_app_registered_is_refused(world: World) -> None:
    with pytest.raises(ValueError, match=r"payment\.refnded"):
        audit_record(
            action="payment.refnded", actor=world.clinic_admin, clinic=world.harbour, summary="x"
        )
    assert not AuditEntry.objects.exists()


def test_an_action_registered_twice_with_another_label_is_refused() -> None:
    class Clash(models.TextChoices):
        PAID = "payment.paid", "Paid, said differently"

    with pytest.raises(ValueError, match=r"payment\.paid"):
        audit_actions_register(Clash)
    assert dict(audit_action_choices())["payment.paid"] == "Payment paid"
