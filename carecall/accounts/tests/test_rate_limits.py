"""Password reset is throttled per client address and per email; accepting an invitation per
address and per invitation link. Over a limit: 429 with a page, and nothing is sent or made."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from carecall.accounts.models import User
from carecall.accounts.services import invitation_create
from carecall.notifications.models import OutboxEmail
from carecall.orgs.models import Role
from conftest import World

pytestmark = pytest.mark.django_db

RESET_REFUSED = "Many password resets were asked for from here, or for this email address"


def _reset(client: Client, email: str, capture: Any) -> Any:
    with capture(execute=True):
        return client.post(reverse("accounts:password_reset"), {"email": email})


def test_password_resets_past_the_email_limit_get_429_and_send_nothing(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.RATE_LIMIT_PASSWORD_RESET_PER_EMAIL = "2/h"
    email = world.clinician.email
    for n in range(2):
        # From different addresses: the limit is the account's own.
        client = Client(REMOTE_ADDR=f"203.0.113.{n + 1}")
        assert _reset(client, email, django_capture_on_commit_callbacks).status_code == 302
    assert len(mail.outbox) == OutboxEmail.objects.count() == 2

    # Any spelling of the same address counts the same.
    refused = _reset(
        Client(REMOTE_ADDR="203.0.113.9"),
        " Chris@Example.TEST ",
        django_capture_on_commit_callbacks,
    )

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    html = refused.content.decode()
    assert RESET_REFUSED in html and "no email was sent this time" in html
    assert len(mail.outbox) == OutboxEmail.objects.count() == 2
    # Another person's reset is not affected.
    other = _reset(
        Client(REMOTE_ADDR="203.0.113.9"),
        world.clinic_admin.email,
        django_capture_on_commit_callbacks,
    )
    assert other.status_code == 302
    assert len(mail.outbox) == 3


def test_password_resets_past_the_address_limit_get_429_and_send_nothing(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS = "2/h"
    here = Client(REMOTE_ADDR="203.0.113.5")
    for email in (world.clinician.email, "nobody@example.test"):
        assert _reset(here, email, django_capture_on_commit_callbacks).status_code == 302

    refused = _reset(here, world.org_admin.email, django_capture_on_commit_callbacks)

    assert refused.status_code == 429
    assert RESET_REFUSED in refused.content.decode()
    assert [m.to for m in mail.outbox] == [[world.clinician.email]]
    assert OutboxEmail.objects.count() == 1
    elsewhere = _reset(
        Client(REMOTE_ADDR="198.51.100.7"),
        world.org_admin.email,
        django_capture_on_commit_callbacks,
    )
    assert elsewhere.status_code == 302
    assert len(mail.outbox) == 2


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
