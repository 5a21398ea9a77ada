"""Sign-in rate limiting (django-axes) and the per-account backoff beside it.

Two locks, both answered 429 by Axes' middleware with `accounts/locked_out.html`:

- **(email, address)**: `SIGN_IN_FAILURE_LIMIT` wrong passwords for one email from one address
  lock that pair for `SIGN_IN_LOCKOUT_MINUTES` (Axes itself). The address is
  `carecall.core.client_address.client_address` (`PROXY_COUNT`), never a header the client
  chooses.
- **Per account**: someone with many addresses gets `SIGN_IN_FAILURE_LIMIT - 1` tries from each.
  Once one account has `SIGN_IN_ACCOUNT_FAILURE_LIMIT` wrong passwords from all addresses
  together (counted over the lockout window), each further try waits: 1 minute after the latest
  failure, doubling with every failure past the limit, never longer than the lockout. The wait
  holds for every address, the right password included; a try refused while waiting is not
  counted (Axes records no failure for a refused try), so only real guesses make it longer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from carecall.accounts.models import normalise_email

# The first wait once an account passes SIGN_IN_ACCOUNT_FAILURE_LIMIT; doubled per failure after.
ACCOUNT_BACKOFF_FIRST = timedelta(minutes=1)


def username_for_lockout(request: HttpRequest, credentials: dict[str, object] | None) -> str | None:
    username = (credentials or {}).get("username") or request.POST.get("username")
    return normalise_email(str(username)) if username else None


def account_backoff_remaining(
    *, username: str | None, now: datetime | None = None
) -> timedelta | None:
    """How long sign-ins to this account must still wait, from every address; None if not."""
    if not username:
        return None
    now = now or timezone.now()
    window: timedelta = settings.AXES_COOLOFF_TIME
    seen = AccessAttempt.objects.filter(username=username, attempt_time__gte=now - window)
    counted = seen.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    failures = int(counted["failures"] or 0)
    past_limit = failures - int(settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT)
    if past_limit < 0 or counted["last"] is None:
        return None
    wait = min(window, ACCOUNT_BACKOFF_FIRST * 2 ** min(past_limit, 20))
    remaining: timedelta = counted["last"] + wait - now
    return remaining if remaining > timedelta(0) else None


class AccountBackoffAxesHandler(AxesDatabaseHandler):
    """Axes' database handler, also locked while the account's backoff runs."""

    def is_locked(self, request: HttpRequest, credentials: dict[str, object] | None = None) -> bool:
        if super().is_locked(request, credentials):
            return True
        wait = account_backoff_remaining(username=username_for_lockout(request, credentials))
        if wait is None:
            return False
        request.carecall_account_wait = wait  # type: ignore[attr-defined]
        return True


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, object] | None = None,
) -> HttpResponse:
    """The page for either lock: from this address, or the account's backoff (and how long)."""
    account_wait: timedelta | None = getattr(request, "carecall_account_wait", None)
    return render(
        request,
        "accounts/locked_out.html",
        {
            "failure_limit": get_failure_limit(request, credentials),
            "cooloff_timedelta": settings.AXES_COOLOFF_TIME,
            "account_wait": account_wait,
        },
        status=429,
    )
