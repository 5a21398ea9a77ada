"""The email outbox: written with the change, sent after commit, a failure kept and retried with
backoff, each email sent once even when two senders run at the same moment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from carecall.notifications.models import OutboxEmail
from carecall.notifications.services import (
    BACKOFF,
    MAX_ATTEMPTS,
    email_outbox_send_due,
    email_outbox_try,
    email_send,
)
from carecall.notifications.signals import email_sent
from carecall.notifications.tests.failing_backend import PATH as FAILING

pytestmark = pytest.mark.django_db

TEMPLATE = "orgs/email/invitation"  # any of the app's emails will do
CONTEXT = {"place": "Harbour GP", "role": "Clinician", "accept_url": "http://testserver/i/x/"}


def _send(django_capture_on_commit_callbacks: Any, **extra: Any) -> OutboxEmail:
    """An email queued the way the services do, outside any other transaction."""
    with django_capture_on_commit_callbacks(execute=True):
        return email_send(to="pat@example.test", template=TEMPLATE, context=CONTEXT, **extra)


def test_an_email_is_written_in_the_transaction_and_sent_after_commit(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        row = email_send(to="pat@example.test", template=TEMPLATE, context=CONTEXT)
        assert OutboxEmail.objects.filter(pk=row.pk, sent_at__isnull=True).exists()
    assert mail.outbox == []  # not before commit
    for callback in callbacks:
        callback()
    (message,) = mail.outbox
    assert message.to == ["pat@example.test"]
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1 and row.last_error == ""


def test_an_email_rolled_back_with_its_transaction_is_never_sent(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        email_send(to="pat@example.test", template=TEMPLATE, context=CONTEXT)
        raise RuntimeError("the change failed")
    assert mail.outbox == []
    assert not OutboxEmail.objects.exists()
    assert email_outbox_send_due(now=timezone.now() + timedelta(days=1)) == {"sent": 0, "failed": 0}


def test_a_failing_mail_server_is_logged_not_raised_and_the_drain_retries_with_backoff(
    django_capture_on_commit_callbacks: Any, settings: Any, caplog: Any
) -> None:
    settings.EMAIL_BACKEND = FAILING
    row = _send(django_capture_on_commit_callbacks)  # raises nothing

    row.refresh_from_db()
    assert row.sent_at is None and row.attempts == 1
    assert "SMTPServerDisconnected" in row.last_error
    assert f"could not send {TEMPLATE}" in caplog.text
    first_retry = row.next_attempt_at
    assert first_retry - timezone.now() > BACKOFF[0] - timedelta(seconds=5)

    # Not due yet: nothing is tried.
    assert email_outbox_send_due() == {"sent": 0, "failed": 0}
    # Due, still failing: the wait grows.
    assert email_outbox_send_due(now=first_retry) == {"sent": 0, "failed": 1}
    row.refresh_from_db()
    assert row.attempts == 2
    assert row.next_attempt_at - timezone.now() > BACKOFF[1] - timedelta(seconds=5)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert email_outbox_send_due(now=row.next_attempt_at) == {"sent": 1, "failed": 0}
    assert len(mail.outbox) == 1
    # Sent once: later runs find nothing.
    assert email_outbox_send_due(now=timezone.now() + timedelta(days=2)) == {"sent": 0, "failed": 0}
    assert len(mail.outbox) == 1


def test_after_max_attempts_the_email_is_given_up_and_kept(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = FAILING
    row = _send(django_capture_on_commit_callbacks)
    OutboxEmail.objects.filter(pk=row.pk).update(attempts=MAX_ATTEMPTS)
    assert email_outbox_send_due(now=timezone.now() + timedelta(days=30)) == {
        "sent": 0,
        "failed": 0,
    }
    assert OutboxEmail.objects.filter(pk=row.pk, sent_at__isnull=True).exists()


def test_a_row_taken_by_another_sender_is_not_sent_twice(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = FAILING
    row = _send(django_capture_on_commit_callbacks)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Two senders read the row with attempts=1; the first takes it, the second finds it gone.
    assert email_outbox_try(email_id=row.pk, seen_attempts=1)
    assert not email_outbox_try(email_id=row.pk, seen_attempts=1)
    assert len(mail.outbox) == 1


def test_email_sent_fires_only_once_the_email_went_out(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    seen: list[tuple[str, bool]] = []

    def receiver(*, email: OutboxEmail, **_kwargs: Any) -> None:
        seen.append((email.tag, email.sent_at is not None))

    email_sent.connect(receiver, dispatch_uid="test-outbox")
    try:
        settings.EMAIL_BACKEND = FAILING
        row = _send(django_capture_on_commit_callbacks, tag="thing:1")
        assert seen == []
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        email_outbox_send_due(now=row.next_attempt_at)
        assert seen == [("thing:1", True)]
    finally:
        email_sent.disconnect(dispatch_uid="test-outbox")
