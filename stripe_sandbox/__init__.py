"""An offline, stateful stand-in for the part of Stripe CareCall uses. See README.md."""

from __future__ import annotations

from .sandbox import EndpointConfig
from .server import SandboxServer, start
from .state import (
    HARBOUR_GP_ACCOUNT_ID,
    NORTHSIDE_PHYSIO_ACCOUNT_ID,
    PLATFORM_ACCOUNT_ID,
    publishable_key_for,
)
from .webhooks import sign

__all__ = [
    "HARBOUR_GP_ACCOUNT_ID",
    "NORTHSIDE_PHYSIO_ACCOUNT_ID",
    "PLATFORM_ACCOUNT_ID",
    "EndpointConfig",
    "SandboxServer",
    "publishable_key_for",
    "sign",
    "start",
]
