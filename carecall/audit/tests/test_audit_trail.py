"""The audit trail: org admins see their organisation's entries (/orgs/<id>/audit/), operators
see everyone's (/operator/audit/), nobody else sees any; role changes are recorded; and no way
through the app (model, bulk query, Django admin, the pages) edits or deletes an entry."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from carecall.accounts.models import User
from carecall.audit.members import MemberAction
from carecall.audit.models import AppendOnlyError, AuditEntry
from carecall.audit.services import audit_record
from carecall.clinic_apps.audit_actions import AppAction
from carecall.orgs.models import Role
from carecall.orgs.services import membership_change_role, membership_remove
from carecall.payments.audit_actions import PaymentAction
from testsupport.world import PERSONAS, World, client_for


def _seed(world: World) -> tuple[AuditEntry, AuditEntry, AuditEntry]:
    ours = audit_record(
        action=PaymentAction.PAYMENT_REFUNDED,
        actor=world.clinic_admin,
        clinic=world.harbour,
        target="payment:ours",
        summary="Refund of AUD 20.00 on CC-OURS01",
    )
    org_level = audit_record(
        action=AppAction.APP_REQUESTED,
        actor=world.org_admin,
        organisation=world.organisation,
        summary="Requested Payment Gateway for Harbour GP",
    )
    theirs = audit_record(
        action=PaymentAction.PAYMENT_PAID,
        actor=None,
        actor_label="Stripe",
        clinic=world.other_clinic,
        target="payment:theirs",
        summary="Paid AUD 99.00 (CC-THEIRS)",
    )
    return ours, org_level, theirs


ORG_PAGE = {
    "org_admin": 200,
    "clinic_admin": 403,
    "clinician": 403,
    "other_clinician": 403,
    "outsider": 404,
    "operator": 404,
    "anonymous": 302,
}
OPERATOR_PAGE = {
    "org_admin": 403,
    "clinic_admin": 403,
    "clinician": 403,
    "other_clinician": 403,
    "outsider": 403,
    "operator": 200,
    "anonymous": 302,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_organisation_audit_page_by_persona(world: World, persona: str) -> None:
    _seed(world)
    response = client_for(world.persona(persona)).get(
        reverse("audit:organisation", args=[world.organisation.pk])
    )

    assert response.status_code == ORG_PAGE[persona]
    if response.status_code == 200:
        page = response.content.decode()
        assert "CC-OURS01" in page and "Requested Payment Gateway" in page
        assert "CC-THEIRS" not in page
    elif persona == "anonymous":
        assert response["Location"].startswith("/accounts/sign-in/")


@pytest.mark.parametrize("persona", PERSONAS)
def test_operator_audit_page_by_persona(world: World, persona: str) -> None:
    _seed(world)
    response = client_for(world.persona(persona)).get(reverse("audit:operator"))

    assert response.status_code == OPERATOR_PAGE[persona]
    if response.status_code == 200:
        page = response.content.decode()
        assert "CC-OURS01" in page and "CC-THEIRS" in page
        assert "Elsewhere Medical" in page and "Demo Health" in page


def test_the_audit_page_filters_by_action_and_ignores_an_unknown_one(world: World) -> None:
    _seed(world)
    client = client_for(world.org_admin)
    url = reverse("audit:organisation", args=[world.organisation.pk])

    refunds = client.get(url, {"action": "payment.refunded"}).content.decode()
    anything = client.get(url, {"action": "drop table"}).content.decode()

    assert "CC-OURS01" in refunds and "Requested Payment Gateway" not in refunds
    assert "CC-OURS01" in anything and "Requested Payment Gateway" in anything


def test_the_audit_page_is_newest_first_in_pages_of_50(world: World) -> None:
    for i in range(53):
        audit_record(
            action=PaymentAction.RECEIPT_RESENT,
            actor=world.clinic_admin,
            clinic=world.harbour,
            summary=f"entry-{i:02d}",
        )
    client = client_for(world.org_admin)
    url = reverse("audit:organisation", args=[world.organisation.pk])

    first = re.findall(r"entry-\d\d", client.get(url).content.decode())
    second = re.findall(r"entry-\d\d", client.get(url, {"page": "2"}).content.decode())

    assert first == [f"entry-{i:02d}" for i in range(52, 2, -1)]
    assert second == ["entry-02", "entry-01", "entry-00"]


def test_a_role_change_and_a_removal_are_recorded_with_old_and_new_role(world: World) -> None:
    membership = world.membership(world.clinician, world.harbour)

    membership_change_role(actor=world.clinic_admin, membership=membership, role=Role.CLINIC_ADMIN)
    membership_remove(actor=world.org_admin, membership=membership)

    changed = AuditEntry.objects.get(action=MemberAction.MEMBER_ROLE_CHANGED)
    assert (changed.actor, changed.clinic, changed.organisation, changed.target) == (
        world.clinic_admin,
        world.harbour,
        world.organisation,
        f"user:{world.clinician.pk}",
    )
    assert changed.summary == "Chris Lee (chris@example.test): Clinician → Clinic admin"
    removed = AuditEntry.objects.get(action=MemberAction.MEMBER_REMOVED)
    assert removed.actor == world.org_admin
    assert "Removed Chris Lee (chris@example.test)" in removed.summary


def test_an_entry_cannot_be_changed_or_deleted_one_by_one_or_in_bulk(world: World) -> None:
    entry, _org, _theirs = _seed(world)
    entry.summary = "Nothing happened here"

    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(summary="Nothing happened here")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()

    entry.refresh_from_db()
    assert entry.summary == "Refund of AUD 20.00 on CC-OURS01"
    assert AuditEntry.objects.count() == 3


def test_the_django_admin_shows_entries_but_offers_no_add_change_or_delete(world: World) -> None:
    entry, _org, _theirs = _seed(world)
    root = User.objects.create_superuser("root@carecall.test", "a-long-test-password")
    client = client_for(root)
    change = reverse("admin:audit_auditentry_change", args=[entry.pk])
    delete = reverse("admin:audit_auditentry_delete", args=[entry.pk])

    assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    assert client.post(change, {"summary": "Nothing happened here"}).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    bulk = client.post(
        reverse("admin:audit_auditentry_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302, 403)
    entry.refresh_from_db()
    assert entry.summary == "Refund of AUD 20.00 on CC-OURS01"
    assert AuditEntry.objects.count() == 3


def test_the_audit_pages_accept_no_posts(world: World) -> None:
    entry, _org, _theirs = _seed(world)
    org_url = reverse("audit:organisation", args=[world.organisation.pk])

    assert client_for(world.org_admin).post(org_url, {"id": entry.pk}).status_code == 405
    assert client_for(world.operator).post(reverse("audit:operator")).status_code == 405
    assert AuditEntry.objects.count() == 3


def test_deleting_a_person_keeps_their_entries_and_the_name_they_acted_under(
    world: World,
) -> None:
    entry, _org, _theirs = _seed(world)

    world.clinic_admin.delete()

    entry.refresh_from_db()
    assert entry.actor is None
    assert entry.actor_label == "Hannah Brooks <hannah@example.test>"
    assert entry.summary == "Refund of AUD 20.00 on CC-OURS01"


def test_a_payments_timeline_is_read_through_the_target_index(world: World) -> None:
    """The detail page asks for one target's entries in order; with hundreds of thousands of
    entries that must be an index search, not a scan of the whole trail."""
    from django.db import connection

    _seed(world)
    timeline = AuditEntry.objects.filter(target="payment:ours").order_by("at", "id")
    plan = timeline.explain()

    if connection.vendor == "sqlite":
        assert "audit_target_at_idx" in plan, plan
        assert "SCAN audit_auditentry" not in plan
    index_names = {
        name
        for name, info in connection.introspection.get_constraints(
            connection.cursor(), AuditEntry._meta.db_table
        ).items()
        if info["index"] and info["columns"] == ["target", "at"]
    }
    assert index_names == {"audit_target_at_idx"}
