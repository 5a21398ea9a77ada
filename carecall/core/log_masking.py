"""Secrets in URLs never reach the logs: the path is logged with its token masked.

Patients', guests', invitations' and password-reset links carry the only key to what they
open, and signed receipt links are keys too; an access log line that holds one hands the visit
to whoever reads the log. `TokenMaskFilter` rewrites every text argument of a log record
(uvicorn's access log passes the path as an argument, Django's request log too) and the message
itself. It is on the console handler (settings.LOGGING: Django's loggers) and on uvicorn's access
logger (CoreConfig.ready: uvicorn gives that logger its own handler).
"""

from __future__ import annotations

import logging
import re

MASK = "…"

_PATTERNS = [
    # /v/<token>/, /j/<token>/ (and their payments), the sockets, invitations, signed receipts.
    re.compile(r"(/(?:v|j|ws/visits|ws/guests|accounts/invitations|receipts)/)[^/?#\s\"']+"),
    # /accounts/password-reset/<uidb64>/<token>/ (Django swaps the token for "set-password").
    re.compile(
        r"(/accounts/password-reset/[^/?#\s\"']+/)(?!set-password/)(?!sent/|done/)[^/?#\s\"']+"
    ),
    # Stripe Connect's OAuth callback: the one-time code and the session's state.
    re.compile(r"([?&](?:code|state)=)[^&#\s\"']+"),
]


def token_mask(text: str) -> str:
    if "/" not in text and "=" not in text:
        return text
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


class TokenMaskFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = token_mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(token_mask(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: token_mask(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


def access_log_mask() -> None:
    """uvicorn's access logger has its own handler: the filter goes on the logger itself."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, TokenMaskFilter) for f in logger.filters):
        logger.addFilter(TokenMaskFilter())
