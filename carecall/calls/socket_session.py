"""The session and the signed-in user of a websocket, resolved only when a consumer asks.

Channels' `AuthMiddlewareStack` makes two thread hops on every connect (one to build the session
store, one to load the user) and reads the session and the user even for a patient's socket,
whose link token is its only key. Here `scope["session"]` is a session store that reads its row
on first use and `scope["user"]` a lazy object that loads the user on first use, so both happen
inside the consumer's own database call (never in the event loop: a consumer touches them only
from `database_sync_to_async`). The rules are Django's own (`django.contrib.auth.get_user`:
the session's backend and hash checked, an inactive user is anonymous). Websockets never write
the session.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.sessions.backends.base import SessionBase
from django.http.cookie import parse_cookie
from django.utils.functional import SimpleLazyObject


class _SessionHolder:
    """What `django.contrib.auth.get_user` reads from a request: its session."""

    def __init__(self, session: SessionBase) -> None:
        self.session = session


def _cookies(scope: dict[str, Any]) -> dict[str, str]:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            return parse_cookie(value.decode("latin1"))
    return {}


class LazySessionAuthMiddleware:
    """`scope["cookies"]`, `scope["session"]` and `scope["user"]`, all lazy (see the module)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        cookies = _cookies(scope)
        # A SessionStore reads its row on first access, not when it is made.
        session = self.session_store(cookies.get(settings.SESSION_COOKIE_NAME))
        holder = _SessionHolder(session)
        scope = dict(
            scope,
            cookies=cookies,
            session=session,
            user=SimpleLazyObject(lambda: auth.get_user(holder)),  # type: ignore[arg-type]
        )
        return await self.inner(scope, receive, send)
