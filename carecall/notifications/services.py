"""Sending email. Messages go out after the surrounding transaction commits, never before."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def email_render(*, template: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """Render `<template>_subject.txt`, `<template>.txt` and `<template>.html`."""
    subject = " ".join(render_to_string(f"{template}_subject.txt", dict(context)).split())
    text = render_to_string(f"{template}.txt", dict(context))
    html = render_to_string(f"{template}.html", dict(context))
    return subject, text, html


def email_send(*, to: str, template: str, context: Mapping[str, Any]) -> None:
    """Queue an email (plain text and HTML) to be sent once the current transaction commits."""
    subject, text, html = email_render(template=template, context=context)

    def send() -> None:
        message = EmailMultiAlternatives(
            subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]
        )
        message.attach_alternative(html, "text/html")
        message.send()
        logger.info("sent %s to %s", template, to)

    transaction.on_commit(send)
