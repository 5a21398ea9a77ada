"""Mail to files: each message becomes one `.eml` file (openable in any mail program)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone
from django.utils.crypto import get_random_string


class EmlFileBackend(BaseEmailBackend):
    def __init__(self, *, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently)
        self.folder = Path(kwargs.get("file_path") or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            path = self.folder / f"{stamp}-{get_random_string(6)}.eml"
            path.write_bytes(message.message().as_bytes(linesep="\n"))
            # The demo's person reads mail here: say where it went.
            print(f"[mail] {message.subject!r} to {', '.join(message.to)}: {path}", file=sys.stderr)
            sent += 1
        return sent
