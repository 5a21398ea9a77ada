"""A mail server that is down: every send raises, as smtplib does."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

PATH = "carecall.notifications.tests.failing_backend.FailingBackend"


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
