"""The outbox is not an archive: a sent email's text and HTML (an invitation's accept link,
a patient's receipt) are blanked once it went out, old sent rows are deleted, and the admin never
shows a body. Counting a run's failures counts only real failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from carecall.notifications.models import OutboxEmail
from carecall.notifications.services import (
    KEEP_SENT,
    LEASE,
    MAX_ATTEMPTS,
    email_outbox_purge,
    email_outbox_send_due,
    email_send,
)
from carecall.notifications.tests.failing_backend import PATH as FAILING
from testsupport.world import World, client_for

pytestmark = pytest.mark.django_db

TEMPLATE = "orgs/email/invitation"
SECRET_URL = "http://testserver/accounts/invitations/raw-secret-token-123/"
CONTEXT = {"place": "Harbour GP", "role": "Clinician", "accept_url": SECRET_URL}
WORKING = "django.core.mail.backends.locmem.EmailBackend"


def _queue(django_capture_on_commit_callbacks: Any, to: str = "pat@example.test") -> OutboxEmail:
    with django_capture_on_commit_callbacks(execute=True):
        row = email_send(to=to, template=TEMPLATE, context=CONTEXT, tag="thing:1")
    row.refresh_from_db()
    return row


def test_a_sent_emails_bodies_are_blanked_and_its_record_kept(
    django_capture_on_commit_callbacks: Any,
) -> None:
    row = _queue(django_capture_on_commit_callbacks)
    (message,) = mail.outbox
    assert SECRET_URL in message.body  # the email itself carried the link
    assert row.sent_at is not None
    assert row.text == "" and row.html == ""
    assert row.subject and row.to == "pat@example.test"
    assert row.template == TEMPLATE and row.tag == "thing:1"


def test_an_unsent_email_keeps_its_bodies_until_it_is_sent(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = FAILING
    row = _queue(django_capture_on_commit_callbacks)
    assert row.sent_at is None
    assert SECRET_URL in row.text and SECRET_URL in row.html

    settings.EMAIL_BACKEND = WORKING
    assert email_outbox_send_due(now=row.next_attempt_at) == {"sent": 1, "failed": 0}
    (message,) = mail.outbox
    assert SECRET_URL in message.body  # sent from the kept bodies
    row.refresh_from_db()
    assert row.sent_at is not None and row.text == "" and row.html == ""


def test_sent_emails_older_than_the_keep_period_are_deleted_by_the_drain(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    old = _queue(django_capture_on_commit_callbacks, to="old@example.test")
    recent = _queue(django_capture_on_commit_callbacks, to="recent@example.test")
    settings.EMAIL_BACKEND = FAILING
    unsent = _queue(django_capture_on_commit_callbacks, to="unsent@example.test")
    now = timezone.now()
    OutboxEmail.objects.filter(pk=old.pk).update(sent_at=now - KEEP_SENT - timedelta(hours=1))
    OutboxEmail.objects.filter(pk=recent.pk).update(sent_at=now - KEEP_SENT + timedelta(hours=1))
    # An unsent row is never deleted, however old.
    OutboxEmail.objects.filter(pk=unsent.pk).update(next_attempt_at=now + timedelta(days=1))

    assert email_outbox_send_due(now=now) == {"sent": 0, "failed": 0}

    remaining = set(OutboxEmail.objects.values_list("to", flat=True))
    assert remaining == {"recent@example.test", "unsent@example.test"}


def test_given_up_emails_lose_their_bodies_after_the_keep_period_but_stay_listed(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = FAILING
    row = _queue(django_capture_on_commit_callbacks)
    OutboxEmail.objects.filter(pk=row.pk).update(attempts=MAX_ATTEMPTS)

    assert email_outbox_purge(now=timezone.now()) == {"deleted": 0, "blanked": 0}
    row.refresh_from_db()
    assert SECRET_URL in row.text  # still inside the keep period

    later = timezone.now() + KEEP_SENT + timedelta(hours=1)
    assert email_outbox_purge(now=later) == {"deleted": 0, "blanked": 1}
    row.refresh_from_db()
    assert row.text == "" and row.html == "" and row.sent_at is None
    assert row.attempts == MAX_ATTEMPTS and "SMTP" in row.last_error


def test_a_given_up_email_whose_last_try_is_under_way_keeps_its_bodies(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    """Its last try raised `attempts` to the maximum and holds a lease until next_attempt_at;
    blanking it then would send an empty email."""
    settings.EMAIL_BACKEND = FAILING
    row = _queue(django_capture_on_commit_callbacks)
    later = timezone.now() + KEEP_SENT + timedelta(hours=1)
    OutboxEmail.objects.filter(pk=row.pk).update(
        attempts=MAX_ATTEMPTS, next_attempt_at=later + LEASE
    )

    assert email_outbox_purge(now=later) == {"deleted": 0, "blanked": 0}
    row.refresh_from_db()
    assert SECRET_URL in row.text


def test_the_outbox_admin_never_shows_an_emails_body(
    world: World, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = FAILING  # unsent: the row still holds its bodies
    row = _queue(django_capture_on_commit_callbacks)
    assert SECRET_URL in row.text
    operator = client_for(world.operator)
    page = operator.get(reverse("admin:notifications_outboxemail_change", args=[row.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert row.subject in html  # the page is the row's
    assert "raw-secret-token-123" not in html
    changelist = operator.get(reverse("admin:notifications_outboxemail_changelist"))
    assert "raw-secret-token-123" not in changelist.content.decode()


class _AnotherSenderTakesTheNextRow(EmailBackend):
    """Sends like locmem; while it does, another sender takes `row_id` (raises its attempts the
    way `email_outbox_try` does) and is still busy sending it."""

    row_id = 0

    def send_messages(self, messages: Any) -> int:
        OutboxEmail.objects.filter(pk=self.row_id).update(
            attempts=F("attempts") + 1, next_attempt_at=timezone.now() + LEASE
        )
        return super().send_messages(messages)


def test_a_row_another_sender_is_sending_is_not_counted_as_failed(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = FAILING
    first = _queue(django_capture_on_commit_callbacks, to="first@example.test")
    busy = _queue(django_capture_on_commit_callbacks, to="busy@example.test")
    now = timezone.now()
    OutboxEmail.objects.filter(pk=first.pk).update(next_attempt_at=now - timedelta(minutes=2))
    OutboxEmail.objects.filter(pk=busy.pk).update(next_attempt_at=now - timedelta(minutes=1))

    _AnotherSenderTakesTheNextRow.row_id = busy.pk
    settings.EMAIL_BACKEND = f"{__name__}._AnotherSenderTakesTheNextRow"
    assert email_outbox_send_due(now=now) == {"sent": 1, "failed": 0}
    assert [message.to for message in mail.outbox] == [["first@example.test"]]
    busy.refresh_from_db()
    assert busy.sent_at is None and busy.attempts == 2  # the other sender's try, not ours
