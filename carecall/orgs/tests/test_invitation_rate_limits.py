"""Sending invitations is throttled per sender and per address, across every view that sends
one: past the limit, 429 with a page, no invitation and no email."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from carecall.accounts.models import Invitation
from conftest import World

pytestmark = pytest.mark.django_db

REFUSED = "Many invitations were sent from your account or your connection in the last hour"


def _invite(client: Client, world: World, email: str, capture: Any) -> Any:
    with capture(execute=True):
        return client.post(
            reverse("orgs:clinic_invite", args=[world.harbour.pk]),
            {"email": email, "role": "clinician"},
        )


def test_invitations_past_the_senders_limit_get_429_and_send_nothing(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.RATE_LIMIT_INVITE_PER_USER = "2/h"
    admin = Client(REMOTE_ADDR="203.0.113.5")
    admin.force_login(world.clinic_admin)
    for n in range(2):
        answer = _invite(admin, world, f"new{n}@example.test", django_capture_on_commit_callbacks)
        assert answer.status_code == 302

    refused = _invite(admin, world, "new9@example.test", django_capture_on_commit_callbacks)

    assert refused.status_code == 429
    assert REFUSED in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert Invitation.objects.count() == 2 and len(mail.outbox) == 2
    # The organisation's invitations count for the same sender too...
    org_invite = reverse("orgs:organisation_invite", args=[world.organisation.pk])
    org_admin = Client(REMOTE_ADDR="203.0.113.5")
    org_admin.force_login(world.org_admin)
    # ...but another sender, even from the same address, is not affected.
    with django_capture_on_commit_callbacks(execute=True):
        other = org_admin.post(org_invite, {"email": "admin2@example.test"})
    assert other.status_code == 302
    assert Invitation.objects.count() == 3


def test_invitations_past_the_address_limit_get_429(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.RATE_LIMIT_INVITE_PER_ADDRESS = "1/h"
    clinic_admin = Client(REMOTE_ADDR="203.0.113.5")
    clinic_admin.force_login(world.clinic_admin)
    org_admin = Client(REMOTE_ADDR="203.0.113.5")
    org_admin.force_login(world.org_admin)
    assert (
        _invite(
            clinic_admin, world, "a@example.test", django_capture_on_commit_callbacks
        ).status_code
        == 302
    )

    assert (
        _invite(org_admin, world, "b@example.test", django_capture_on_commit_callbacks).status_code
        == 429
    )
    assert list(Invitation.objects.values_list("email", flat=True)) == ["a@example.test"]
    org_admin_elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    org_admin_elsewhere.force_login(world.org_admin)
    assert (
        _invite(
            org_admin_elsewhere, world, "b@example.test", django_capture_on_commit_callbacks
        ).status_code
        == 302
    )
