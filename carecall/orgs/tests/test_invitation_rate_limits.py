"""Sending invitations is throttled per sender and per address, across every view that sends
one; accepting one per address and per invitation link. Past a limit: 429 with a page, and no
invitation, email or account is made."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from carecall.accounts.models import User
from carecall.orgs.invitations import invitation_create
from carecall.orgs.models import Invitation, Role
from testsupport.world import World

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


def _invitation_link(world: World, capture: Any, email: str) -> str:
    with capture(execute=True):
        invitation_create(
            actor=world.clinic_admin,
            organisation=world.organisation,
            clinic=world.harbour,
            email=email,
            role=Role.CLINICIAN,
        )
    match = re.search(
        r"http://testserver(/accounts/invitations/[^/\s]+/)", str(mail.outbox[-1].body)
    )
    assert match
    return match.group(1)


def test_accepting_an_invitation_past_the_links_limit_gets_429_and_makes_no_account(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.RATE_LIMIT_INVITATION_ACCEPT_PER_TOKEN = "2/10m"
    link = _invitation_link(world, django_capture_on_commit_callbacks, "new@example.test")
    mismatched = {
        "full_name": "Nadia New",
        "password": "correct horse battery",
        "password_again": "x",
    }
    for _ in range(2):
        assert Client().post(link, mismatched).status_code == 400

    good = {**mismatched, "password_again": "correct horse battery"}
    refused = Client().post(link, good)

    assert refused.status_code == 429
    assert (
        "This invitation was tried many times in the last few minutes" in refused.content.decode()
    )
    assert not User.objects.filter(email="new@example.test").exists()
    # The page still opens, and another invitation's link is not affected.
    assert Client().get(link).status_code == 200
    other = _invitation_link(world, django_capture_on_commit_callbacks, "second@example.test")
    assert Client().post(other, {**good, "full_name": "Sam Second"}).status_code == 302
    assert User.objects.filter(email="second@example.test").exists()


def test_accepting_invitations_past_the_address_limit_gets_429(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.RATE_LIMIT_INVITATION_ACCEPT_PER_ADDRESS = "1/10m"
    first = _invitation_link(world, django_capture_on_commit_callbacks, "one@example.test")
    second = _invitation_link(world, django_capture_on_commit_callbacks, "two@example.test")
    good = {
        "full_name": "Ann One",
        "password": "correct horse battery",
        "password_again": "correct horse battery",
    }
    assert Client(REMOTE_ADDR="203.0.113.5").post(first, good).status_code == 302

    assert Client(REMOTE_ADDR="203.0.113.5").post(second, good).status_code == 429
    assert not User.objects.filter(email="two@example.test").exists()
    assert Client(REMOTE_ADDR="198.51.100.7").post(second, good).status_code == 302
