"""Signing in and out, the lockout after repeated wrong passwords, and password reset."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from carecall.accounts.models import User
from carecall.notifications.models import OutboxEmail
from testsupport.world import PASSWORD, World

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, email: str, password: str):
    return client.post(reverse("accounts:sign_in"), {"username": email, "password": password})


def test_sign_in_with_email_and_password_goes_home(world: World) -> None:
    client = Client()
    response = _sign_in(client, "Chris@Example.TEST", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("orgs:home")
    assert "Harbour GP" in client.get(reverse("orgs:home")).content.decode()


def test_wrong_password_gets_a_clear_message(world: World) -> None:
    response = _sign_in(Client(), world.clinician.email, "wrong")
    assert response.status_code == 400
    assert "do not match an account" in response.content.decode()


def test_sign_out_is_a_post_and_ends_the_session(world: World) -> None:
    client = Client()
    _sign_in(client, world.clinician.email, PASSWORD)
    assert client.get(reverse("accounts:sign_out")).status_code == 405
    assert client.post(reverse("accounts:sign_out")).status_code == 302
    assert client.get(reverse("orgs:home")).status_code == 302


def test_five_wrong_passwords_lock_the_account_from_that_address_and_say_for_how_long(
    world: World,
) -> None:
    client = Client()
    for _ in range(4):
        assert _sign_in(client, world.clinician.email, "wrong").status_code == 400
    locked = _sign_in(client, world.clinician.email, "wrong")
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many sign-in attempts" in text
    assert "Try again in 15 minutes" in text
    # Even the right password is refused while locked.
    again = _sign_in(client, world.clinician.email, PASSWORD)
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another person is not affected.
    assert _sign_in(Client(), world.clinic_admin.email, PASSWORD).status_code == 302


def test_password_reset_by_email_sets_a_new_password(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:password_reset"), {"email": world.clinician.email})
    assert response.status_code == 302
    # Through the outbox like every other email: one row, sent, its body (the link) not kept.
    (row,) = OutboxEmail.objects.all()
    assert (row.to, row.template) == (world.clinician.email, "accounts/email/password_reset")
    assert row.sent_at is not None and row.text == "" and row.html == ""
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Reset your CareCall password"
    assert getattr(message, "alternatives", None), "the reset email has an HTML part"
    link = re.search(r"http://testserver(/accounts/password-reset/\S+/)", str(message.body))
    assert link
    form_page = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a brand new secret", "new_password2": "a brand new secret"},
    )
    assert done.status_code == 302
    user = User.objects.get(pk=world.clinician.pk)
    assert user.check_password("a brand new secret")
    # The link works once.
    assert "not valid any more" in Client().get(link.group(1), follow=True).content.decode()


def test_password_reset_for_an_unknown_email_reveals_nothing(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            reverse("accounts:password_reset"), {"email": "nobody@example.test"}
        )
    assert response.status_code == 302
    assert mail.outbox == []
    assert not OutboxEmail.objects.exists()


def test_emails_are_case_insensitive_and_unique(world: World) -> None:
    user = User.objects.create_user("MiXeD@Example.Test", "pw", full_name="Mixed")
    assert user.email == "mixed@example.test"


def test_passwords_are_hashed_with_argon2_in_production() -> None:
    from config import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
