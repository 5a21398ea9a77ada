"""How sign-in rate limiting (django-axes) identifies the account being tried."""

from __future__ import annotations

from django.http import HttpRequest

from carecall.accounts.models import normalise_email


def username_for_lockout(request: HttpRequest, credentials: dict[str, object] | None) -> str | None:
    username = (credentials or {}).get("username") or request.POST.get("username")
    return normalise_email(str(username)) if username else None
