"""The anchors of bench/webhooks.py: verify Stripe's signature on the raw body and insert the
event under its unique id (a duplicate answers 200 too), nothing else.

- `starlette_app()`: a bare Starlette app, the sqlite3 module, one connection per thread.
- `django_app()`: the barest Django: settings configured in code, no middleware, no apps but
  contenttypes, one sync view doing the same verify + `INSERT OR IGNORE` through Django's
  connection.

Both read WEBHOOK_SECRET and BARE_DB (an SQLite file: WAL, synchronous=NORMAL, as CareCall)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import threading
import time
from typing import Any

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS event (id INTEGER PRIMARY KEY, event_id TEXT UNIQUE NOT NULL, "
    "type TEXT NOT NULL, account TEXT NOT NULL, payload TEXT NOT NULL, received_at REAL NOT NULL)"
)
INSERT = (
    "INSERT OR IGNORE INTO event (event_id, type, account, payload, received_at) "
    "VALUES (?, ?, ?, ?, ?)"
)


def verify(body: bytes, header: str, secret: str, tolerance: int = 300) -> dict[str, Any]:
    """Stripe's scheme: t=<unix time>,v1=<hex HMAC-SHA256(secret, "t.body")>."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    timestamp = int(parts.get("t", "0"))
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), parts.get("v1", "")):
        raise ValueError("bad signature")
    if abs(time.time() - timestamp) > tolerance:
        raise ValueError("stale")
    return dict(json.loads(body))


def _row(event: dict[str, Any]) -> tuple[Any, ...]:
    obj = (event.get("data") or {}).get("object") or {}
    payload = json.dumps({"object": obj, "created": event.get("created")})
    return (event["id"], event["type"], event.get("account") or "", payload, time.time())


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    secret = os.environ["WEBHOOK_SECRET"]
    local = threading.local()

    def db() -> sqlite3.Connection:
        if not hasattr(local, "db"):
            local.db = sqlite3.connect(os.environ["BARE_DB"], isolation_level=None, timeout=20)
            local.db.execute("PRAGMA journal_mode=WAL")
            local.db.execute("PRAGMA synchronous=NORMAL")
            local.db.execute(SCHEMA)
        return local.db

    def store(body: bytes, header: str) -> bool:
        event = verify(body, header, secret)
        return db().execute(INSERT, _row(event)).rowcount == 1

    async def hook(request: Request) -> JSONResponse:
        from starlette.concurrency import run_in_threadpool

        body = await request.body()
        try:
            created = await run_in_threadpool(
                store, body, request.headers.get("stripe-signature", "")
            )
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse({"received": True, "duplicate": not created})

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


def django_app() -> Any:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-" + "x" * 50,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=["django.contrib.contenttypes"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": os.environ["BARE_DB"],
                "CONN_MAX_AGE": 600,
                "OPTIONS": {
                    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                    "transaction_mode": "IMMEDIATE",
                    "timeout": 20,
                },
            }
        },
    )
    django.setup()
    from django.core.asgi import get_asgi_application

    with sqlite3.connect(os.environ["BARE_DB"]) as setup:
        setup.execute(SCHEMA)
    return get_asgi_application()


def _django_hook(request: Any) -> Any:
    from django.db import connection
    from django.http import JsonResponse

    try:
        event = verify(
            request.body, request.headers.get("Stripe-Signature", ""), os.environ["WEBHOOK_SECRET"]
        )
    except ValueError as error:
        return JsonResponse({"error": str(error)}, status=400)
    with connection.cursor() as cursor:
        cursor.execute(INSERT.replace("?", "%s"), _row(event))
        created = cursor.rowcount == 1
    return JsonResponse({"received": True, "duplicate": not created})


def _urls() -> list[Any]:
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    return [path("hook", csrf_exempt(_django_hook))]


def __getattr__(name: str) -> Any:  # Django reads ROOT_URLCONF's urlpatterns lazily
    if name == "urlpatterns":
        return _urls()
    raise AttributeError(name)
