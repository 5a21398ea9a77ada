"""Everything the sandbox remembers, behind one lock, optionally persisted to a caller-named file.

Objects are stored as the JSON dicts the API returns, partitioned by the account that owns them
(the platform's own id, or a connected account's id): a lookup only ever searches the caller's
partition, which is what makes `Stripe-Account` isolation hold by construction.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from .ids import new_id, random_token

PLATFORM_ACCOUNT_ID = "acct_1SbxPlatform0001"
HARBOUR_GP_ACCOUNT_ID = "acct_1SbxHarbourGP001"
NORTHSIDE_PHYSIO_ACCOUNT_ID = "acct_1SbxNorthside001"

API_VERSION = "2023-08-16"

Obj = dict[str, Any]


def account_object(
    account_id: str,
    *,
    name: str,
    email: str,
    country: str,
    default_currency: str,
    created: int,
) -> Obj:
    return {
        "id": account_id,
        "object": "account",
        "business_profile": {
            "mcc": "8011",
            "name": name,
            "product_description": None,
            "support_address": None,
            "support_email": email,
            "support_phone": None,
            "support_url": None,
            "url": None,
        },
        "business_type": "company",
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
        "country": country,
        "created": created,
        "default_currency": default_currency,
        "details_submitted": True,
        "email": email,
        "metadata": {},
        "payouts_enabled": True,
        "type": "standard",
    }


def _seed_accounts() -> dict[str, Obj]:
    created = 1_700_000_000
    seeds = [
        (PLATFORM_ACCOUNT_ID, "CareCall (sandbox platform)", "platform@carecall.test", "AU", "aud"),
        (HARBOUR_GP_ACCOUNT_ID, "Harbour GP Pty Ltd", "accounts@harbourgp.test", "AU", "aud"),
        (NORTHSIDE_PHYSIO_ACCOUNT_ID, "Northside Physio", "admin@northside.test", "AU", "aud"),
    ]
    return {
        acct: account_object(
            acct, name=name, email=email, country=country, default_currency=cur, created=created
        )
        for acct, name, email, country, cur in seeds
    }


def publishable_key_for(account_id: str) -> str:
    """Each account's publishable key is derived from its id, so it is stable across restarts."""
    return f"pk_test_{account_id.removeprefix('acct_')}"


class State:
    def __init__(self, path: Path | None = None) -> None:
        # RLock: event emission runs inside API handlers that already hold the lock.
        self.lock = threading.RLock()
        self.path = path
        self.reset()
        if path is not None and path.exists():
            self._load(json.loads(path.read_text()))

    def reset(self) -> None:
        with self.lock:
            self.accounts: dict[str, Obj] = _seed_accounts()
            # connected account id -> {client_id, scope, connected_at}
            self.connections: dict[str, Obj] = {}
            self.objects: dict[str, dict[str, Obj]] = {}
            # PaymentMethod id -> card number: how the card behaves is private to the sandbox
            self.pm_cards: dict[str, str] = {}
            self.oauth_codes: dict[str, Obj] = {}
            # OAuth access tokens (secret keys of connected accounts) -> {account, revoked}
            self.access_tokens: dict[str, Obj] = {}
            self.refresh_tokens: dict[str, str] = {}
            self.idempotency: dict[str, Obj] = {}
            self.endpoints: list[Obj] = []

    # -- persistence ------------------------------------------------------------------------
    def _fields(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "connections": self.connections,
            "objects": self.objects,
            "pm_cards": self.pm_cards,
            "oauth_codes": self.oauth_codes,
            "access_tokens": self.access_tokens,
            "refresh_tokens": self.refresh_tokens,
            "idempotency": self.idempotency,
            "endpoints": [e for e in self.endpoints if not e.get("configured")],
        }

    def _load(self, data: dict[str, Any]) -> None:
        for key, value in data.items():
            if key in self._fields():
                setattr(self, key, value)

    def save(self) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half a file."""
        if self.path is None:
            return
        with self.lock:
            text = json.dumps(self._fields())
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.path)

    # -- objects ----------------------------------------------------------------------------
    def partition(self, account: str) -> dict[str, Obj]:
        return self.objects.setdefault(account, {})

    def get(self, account: str, object_id: str, object_type: str) -> Obj | None:
        obj = self.objects.get(account, {}).get(object_id)
        if obj is None or obj.get("object") != object_type:
            return None
        return obj

    def put(self, account: str, obj: Obj) -> Obj:
        self.partition(account)[obj["id"]] = obj
        return obj

    def list_objects(self, account: str, object_type: str) -> list[Obj]:
        """Newest first, as Stripe lists."""
        found = [o for o in self.objects.get(account, {}).values() if o["object"] == object_type]
        return list(reversed(found))

    # -- accounts ---------------------------------------------------------------------------
    def is_connected(self, account: str) -> bool:
        return account in self.connections

    def account_for_publishable_key(self, key: str) -> str:
        for account_id in self.accounts:
            if publishable_key_for(account_id) == key:
                return account_id
        return PLATFORM_ACCOUNT_ID

    def create_account(self, *, name: str, email: str, country: str, currency: str) -> Obj:
        acct = account_object(
            "acct_1" + random_token(15),
            name=name,
            email=email,
            country=country,
            default_currency=currency,
            created=int(time.time()),
        )
        self.accounts[acct["id"]] = acct
        return acct

    # -- events -----------------------------------------------------------------------------
    def endpoints_for(self, account: str, event_type: str) -> list[Obj]:
        connect = account != PLATFORM_ACCOUNT_ID
        return [
            e
            for e in self.endpoints
            if bool(e["connect"]) == connect
            and any(
                pattern == "*"
                or pattern == event_type
                or (pattern.endswith(".*") and event_type.startswith(pattern[:-1]))
                for pattern in e["enabled_events"]
            )
        ]

    def create_event(
        self,
        account: str,
        event_type: str,
        obj: Obj,
        *,
        previous_attributes: Obj | None = None,
        request: Obj | None = None,
    ) -> Obj:
        data: Obj = {"object": copy.deepcopy(obj)}
        if previous_attributes:
            data["previous_attributes"] = previous_attributes
        event: Obj = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": data,
            "livemode": False,
            "pending_webhooks": len(self.endpoints_for(account, event_type)),
            "request": request or {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        if account != PLATFORM_ACCOUNT_ID:
            # Connect events name the connected account they happened on.
            event["account"] = account
        return self.put(account, event)
