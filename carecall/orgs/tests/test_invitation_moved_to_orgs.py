"""Invitation moved from accounts to orgs (orgs 0003, accounts 0004): the rows stay in their
table with every value, and the links already emailed still open them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [
    ("accounts", "0003_invitation_role_choices"),
    ("orgs", "0002_clinic_contact_email_clinic_contact_phone_and_more"),
]
AFTER = [("accounts", "0004_invitation_to_orgs"), ("orgs", "0003_invitation_from_accounts")]


@pytest.mark.django_db(transaction=True)
def test_invitations_made_before_the_move_keep_every_value() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    organisation = old.get_model("orgs", "Organisation").objects.create(
        name="Old Org", slug="old-org"
    )
    clinic = old.get_model("orgs", "Clinic").objects.create(
        organisation=organisation, name="Old Clinic", slug="old-clinic", timezone="Australia/Sydney"
    )
    expires = timezone.now() + timedelta(days=3)
    made = old.get_model("accounts", "Invitation").objects.create(
        organisation=organisation,
        clinic=clinic,
        email="kim@example.test",
        role="clinician",
        token_hash="a" * 64,
        expires_at=expires,
    )
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    moved = new.get_model("orgs", "Invitation").objects.get(pk=made.pk)
    assert (moved.organisation_id, moved.clinic_id, moved.email, moved.role, moved.token_hash) == (
        organisation.pk,
        clinic.pk,
        "kim@example.test",
        "clinician",
        "a" * 64,
    )
    assert moved.expires_at == expires
    assert moved.accepted_at is None and moved.revoked_at is None
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
