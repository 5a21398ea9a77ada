"""Typed readers for environment variables.

Every setting comes from the environment through these helpers. A bad value stops the process
with a message naming the variable, instead of running with a silent default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class EnvError(ImproperlyConfigured):
    """A configuration variable has a value CareCall cannot use."""


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    source = os.environ if environ is None else environ
    value = source.get(name)
    return None if value is None else value.strip()


def env_str(
    name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None
) -> str:
    value = _raw(name, environ)
    if value is None or value == "":
        if default is None:
            raise EnvError(f"{name} must be set")
        return default
    return value


def env_optional_str(name: str, *, environ: Mapping[str, str] | None = None) -> str | None:
    value = _raw(name, environ)
    return value or None


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise EnvError(f"{name} must be one of true/false/1/0/yes/no/on/off, not {value!r}")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise EnvError(f"{name} must be a whole number, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise EnvError(f"{name} must be at least {minimum}, not {number}")
    if maximum is not None and number > maximum:
        raise EnvError(f"{name} must be at most {maximum}, not {number}")
    return number


_RATE = re.compile(r"^([1-9][0-9]*)/([1-9][0-9]*)?([smhd])$")


def env_rate(name: str, default: str, *, environ: Mapping[str, str] | None = None) -> str:
    """A rate as django-ratelimit writes it: `count/period`, the period `s`, `m`, `h` or `d`,
    optionally with a multiplier (`10/5m`: ten in five minutes)."""
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    if not _RATE.match(value):
        raise EnvError(
            f"{name} must be a rate such as 10/5m (count/period; s, m, h or d), not {value!r}"
        )
    return value


def env_choice(
    name: str,
    default: str,
    choices: Collection[str],
    *,
    case_insensitive: bool = False,
    environ: Mapping[str, str] | None = None,
) -> str:
    """One of `choices`; with `case_insensitive`, matched ignoring case and returned as listed."""
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    for choice in choices:
        if value == choice or (case_insensitive and value.lower() == choice.lower()):
            return choice
    raise EnvError(f"{name} must be one of {', '.join(choices)}, not {value!r}")


def env_url(
    name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None
) -> str:
    """An http:// or https:// URL with a host (an empty value means the default)."""
    value = env_str(name, default, environ=environ)
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise EnvError(f"{name} has a port that is not a number: {value!r}") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise EnvError(f"{name} must be an http:// or https:// URL with a host, not {value!r}")
    return value


def env_list(
    name: str, default: list[str], *, environ: Mapping[str, str] | None = None
) -> list[str]:
    value = _raw(name, environ)
    if value is None or value == "":
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise EnvError(f"{name} must be a comma-separated list without empty items, not {value!r}")
    return items


def _persistent_connections() -> dict[str, object]:
    """Connections are kept and reused (checked before reuse): opening one per websocket
    message or connect was a sixth of the server's time at 1,000 calls (docs/realtime.md)."""
    return {
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 600, minimum=0),
        "CONN_HEALTH_CHECKS": True,
    }


def database_from_url(name: str, url: str, *, base_dir: Path) -> dict[str, object]:
    """Turn `sqlite:///path` or `postgres://user:pass@host:port/db` into a DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if path.startswith("//") or path.startswith("/"):  # sqlite:////abs/path
            path = path[1:]
        if not path:
            raise EnvError(f"{name} must name a SQLite file, e.g. sqlite:///var/carecall.sqlite3")
        file = Path(path) if Path(path).is_absolute() else base_dir / path
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(file),
            **_persistent_connections(),
            # WAL lets the web server read while another request writes.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    if parts.scheme in {"postgres", "postgresql"}:
        database = unquote(parts.path.lstrip("/"))
        if not database or not parts.hostname:
            raise EnvError(f"{name} must look like postgres://user:password@host:port/database")
        try:
            port = parts.port
        except ValueError:
            raise EnvError(f"{name} has a port that is not a number") from None
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": database,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname,
            "PORT": str(port or 5432),
            **_persistent_connections(),
            "OPTIONS": options,
        }
    raise EnvError(f"{name} must start with sqlite:// or postgres://, not {parts.scheme or url!r}")


@dataclass(frozen=True)
class EmailConfig:
    backend: str
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False
    file_path: str = ""


def email_from_url(name: str, url: str, *, base_dir: Path) -> EmailConfig:
    """`smtp://user:pass@host:port?tls=true`, `file:///var/mail`, `console:` or `memory:`."""
    parts = urlsplit(url)
    if parts.scheme in {"smtp", "smtps"}:
        if not parts.hostname:
            raise EnvError(f"{name} must name a host, e.g. smtp://user:password@mail.example:587")
        query = {key: values[-1].lower() for key, values in parse_qs(parts.query).items()}
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise EnvError(f"{name} has a port that is not a number") from None
        return EmailConfig(
            backend="django.core.mail.backends.smtp.EmailBackend",
            host=parts.hostname,
            port=port,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            use_tls=query.get("tls") in _TRUE,
            use_ssl=parts.scheme == "smtps",
        )
    if parts.scheme == "file":
        # file:///abs/folder is absolute; file://var/mail is relative to the project.
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise EnvError(f"{name} must name a folder, e.g. file://var/mail")
        folder = Path(path) if Path(path).is_absolute() else base_dir / path
        return EmailConfig(
            backend="carecall.notifications.backends.EmlFileBackend", file_path=str(folder)
        )
    if parts.scheme == "console":
        return EmailConfig(backend="django.core.mail.backends.console.EmailBackend")
    if parts.scheme == "memory":
        return EmailConfig(backend="django.core.mail.backends.locmem.EmailBackend")
    raise EnvError(f"{name} must start with smtp://, smtps://, file://, console: or memory:")
