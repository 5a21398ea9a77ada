"""Password reset is throttled per client address and per email. Over a limit: 429 with a page,
and nothing is sent."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from carecall.notifications.models import OutboxEmail
from testsupport.world import World

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
