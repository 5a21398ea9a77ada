"""The password reset email goes through the outbox like every other email: a row written with
the request, sent after commit over real SMTP (aiosmtpd), and kept and retried when the mail
server is down."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from carecall.accounts.models import User
from carecall.notifications.models import OutboxEmail
from carecall.notifications.services import email_outbox_send_due
from testsupport.services import free_port
from testsupport.smtp import SmtpServer
from testsupport.world import World

pytestmark = pytest.mark.django_db


def test_a_reset_asked_while_the_mail_server_is_down_is_kept_and_delivered_later(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 2

    with django_capture_on_commit_callbacks(execute=True):
        answer = Client().post(reverse("accounts:password_reset"), {"email": world.clinician.email})

    assert answer.status_code == 302  # the person is told to look in their inbox
    (row,) = OutboxEmail.objects.all()
    assert row.to == world.clinician.email and row.sent_at is None and row.attempts == 1
    assert row.last_error

    with SmtpServer() as smtp:
        settings.EMAIL_PORT = smtp.port
        assert email_outbox_send_due(now=timezone.now() + timedelta(hours=1))["sent"] == 1
        message = smtp.wait_for(world.clinician.email)

    assert message["Subject"] == "Reset your CareCall password"
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    text = plain.get_content()
    link = re.search(r"http://testserver(/accounts/password-reset/\S+/)", text)
    assert link, text
    row.refresh_from_db()
    assert row.sent_at is not None and row.text == ""  # the link is not kept once sent
    person = Client()
    page = person.get(link.group(1), follow=True)
    assert "Choose a new password" in page.content.decode()
    response = person.post(
        page.redirect_chain[-1][0],
        {"new_password1": "a brand new secret", "new_password2": "a brand new secret"},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=world.clinician.pk).check_password("a brand new secret")
