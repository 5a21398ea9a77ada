"""Sending email through an outbox.

`email_send` renders the email and writes it as an `OutboxEmail` row in the current transaction
(so it exists exactly when the change that caused it does), then tries to send it once the
transaction commits. Sending never raises: a mail server that is down or refuses is logged, and
the row is left for `email_outbox_send_due` (the `email_outbox_send` periodic job this app
registers in `apps.py`, run every minute by the task worker and the demo), which retries with
backoff. `signals.email_sent` fires when a row has really
gone out, so "sent" is only ever recorded after the fact.

The outbox is not an archive: emails carry secrets (an invitation's accept link, whose token is
otherwise stored only as a hash) and patients' details (receipts). Once a row is sent its text
and HTML are blanked (subject, address, template and tag stay, for the record), and
`email_outbox_purge`, run with every `email_outbox_send_due`, deletes sent rows after
`KEEP_SENT` and blanks the bodies of rows given up on for as long.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template import Context, engines
from django.template.backends.django import DjangoTemplates
from django.template.loader import render_to_string
from django.utils import timezone

from carecall.notifications.models import OutboxEmail
from carecall.notifications.signals import email_sent

logger = logging.getLogger(__name__)

# How long a try may take before another sender may take the row over (SMTP timeouts are less).
LEASE = timedelta(minutes=5)
# Waits after the 1st, 2nd, ... failed try; the last one repeats until MAX_ATTEMPTS.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=6),
)
MAX_ATTEMPTS = 12
# How long a sent row (bodies already blanked) or a given-up row's body is kept.
KEEP_SENT = timedelta(days=30)


def _render_plain(name: str, context: Mapping[str, Any]) -> str:
    """A subject or text part is not HTML: rendered with autoescaping off whatever the template
    says, so "Smith & Jones" stays "Smith & Jones" (not "Smith &amp; Jones")."""
    engine = cast(DjangoTemplates, engines["django"]).engine
    return engine.get_template(name).render(Context(dict(context), autoescape=False))


def email_render(*, template: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """Render `<template>_subject.txt` and `<template>.txt` as plain text (no HTML escaping)
    and `<template>.html` as HTML (escaped, as every page is)."""
    subject = " ".join(_render_plain(f"{template}_subject.txt", context).split())
    text = _render_plain(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", dict(context))
    return subject, text, html


def email_send(*, to: str, template: str, context: Mapping[str, Any], tag: str = "") -> OutboxEmail:
    """Put an email (plain text and HTML) in the outbox; it is sent once the transaction
    commits, or later by `email_outbox_send_due` if that fails."""
    subject, text, html = email_render(template=template, context=context)
    row = OutboxEmail.objects.create(
        to=to,
        template=template,
        tag=tag[:100],
        subject=subject[:300],
        text=text,
        html=html,
        # Held for the after-commit try; if this process dies first, the drain takes it later.
        next_attempt_at=timezone.now() + LEASE,
    )
    transaction.on_commit(lambda: email_outbox_try(email_id=row.pk, seen_attempts=0))
    return row


def _backoff(attempts: int) -> timedelta:
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


def email_outbox_try(*, email_id: int, seen_attempts: int) -> bool:
    """Try to send one row, if nobody else has taken it since `seen_attempts`. Never raises.
    True when this call sent it."""
    return _email_outbox_attempt(email_id=email_id, seen_attempts=seen_attempts) == "sent"


def _email_outbox_attempt(*, email_id: int, seen_attempts: int) -> str:
    """Outcome: "sent", "failed" (the backend raised), or "taken" (by another try)."""
    now = timezone.now()
    taken = OutboxEmail.objects.filter(
        pk=email_id, sent_at__isnull=True, attempts=seen_attempts
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + LEASE, updated_at=now)
    if not taken:
        return "taken"
    row = OutboxEmail.objects.get(pk=email_id)
    try:
        message = EmailMultiAlternatives(
            subject=row.subject, body=row.text, from_email=settings.DEFAULT_FROM_EMAIL, to=[row.to]
        )
        if row.html:
            message.attach_alternative(row.html, "text/html")
        message.send()
    except Exception as error:  # any backend failure: SMTP, network, file system
        retry_at = timezone.now() + _backoff(row.attempts)
        OutboxEmail.objects.filter(pk=row.pk).update(
            next_attempt_at=retry_at, last_error=f"{type(error).__name__}: {error}"[:500]
        )
        log = logger.error if row.attempts >= MAX_ATTEMPTS else logger.warning
        log(
            "could not send %s to %s (try %d, %s): %s",
            row.template,
            row.to,
            row.attempts,
            "giving up" if row.attempts >= MAX_ATTEMPTS else f"again after {retry_at:%H:%M:%S}",
            error,
        )
        return "failed"
    sent_at = timezone.now()
    # Gone out: the bodies (accept links, patients' details) are not kept.
    OutboxEmail.objects.filter(pk=row.pk).update(
        sent_at=sent_at, last_error="", text="", html="", updated_at=sent_at
    )
    row.sent_at, row.text, row.html = sent_at, "", ""
    logger.info("sent %s to %s", row.template, row.to)
    try:
        email_sent.send(sender=OutboxEmail, email=row)
    except Exception:
        logger.exception("after sending %s", row.pk)
    return "sent"


def email_outbox_send_due(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send every outbox email whose (re)try is due, then purge old rows (`email_outbox_purge`).
    Returns {"sent": n, "failed": n}; a row another sender took meanwhile is neither."""
    now = now or timezone.now()
    due = OutboxEmail.objects.filter(
        sent_at__isnull=True, next_attempt_at__lte=now, attempts__lt=MAX_ATTEMPTS
    ).order_by("next_attempt_at")[:limit]
    counts = {"sent": 0, "failed": 0}
    for email_id, attempts in list(due.values_list("pk", "attempts")):
        outcome = _email_outbox_attempt(email_id=email_id, seen_attempts=attempts)
        if outcome in counts:
            counts[outcome] += 1
    email_outbox_purge(now=now)
    return counts


def email_outbox_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Delete rows sent more than `KEEP_SENT` ago; blank the bodies of rows given up on (never
    sent after `MAX_ATTEMPTS`) that are as old. Returns {"deleted": n, "blanked": n}."""
    cutoff = (now or timezone.now()) - KEEP_SENT
    deleted, _by_model = OutboxEmail.objects.filter(sent_at__lt=cutoff).delete()
    blanked = (
        OutboxEmail.objects.filter(
            sent_at__isnull=True,
            attempts__gte=MAX_ATTEMPTS,
            created_at__lt=cutoff,
            # A last try may still be under way: its lease ends at next_attempt_at.
            next_attempt_at__lt=now or timezone.now(),
        )
        .exclude(text="", html="")
        .update(text="", html="")
    )
    if deleted or blanked:
        logger.info("outbox: deleted %d sent emails, blanked %d given up", deleted, blanked)
    return {"deleted": deleted, "blanked": blanked}
