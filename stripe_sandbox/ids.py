"""Identifiers shaped like Stripe's: a type prefix, an underscore, random alphanumerics."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str, length: int = 24) -> str:
    """`new_id("pi")` -> "pi_3Xy…"; the leading digit mimics Stripe's shard marker."""
    return f"{prefix}_3{random_token(length - 1)}"


def request_id() -> str:
    return f"req_{random_token(14)}"
