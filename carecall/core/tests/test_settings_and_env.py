"""Settings come from the environment; bad values stop the process with the variable's name."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import (
    EnvError,
    database_from_url,
    email_from_url,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_url,
)

ROOT = Path(__file__).resolve().parents[3]
# The test run's own settings put some of these in os.environ; the child must not inherit them.
SETTING_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "DATABASE_CONN_MAX_AGE",
    "HTTPS",
    "ALLOWED_HOSTS",
    "EMAIL_URL",
    "SITE_URL",
    "REDIS_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "CARECALL_VAR_DIR",
}
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "SECRET_KEY": "x" * 20 + "production-secret-key-that-is-long-enough-1234567890",
    "ALLOWED_HOSTS": "carecall.example",
    "SITE_URL": "https://carecall.example",
    "DATABASE_URL": "sqlite:////tmp/carecall-deploy-check.sqlite3",
    "EMAIL_URL": "smtp://mailer:pw@mail.example:587?tls=true",
}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SETTING_VARIABLES}
    return subprocess.run(
        args, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_env_bool_accepts_the_usual_words_and_refuses_others() -> None:
    assert env_bool("X", False, environ={"X": "Yes"}) is True
    assert env_bool("X", True, environ={"X": "off"}) is False
    assert env_bool("X", True, environ={}) is True
    with pytest.raises(EnvError, match="X must be one of"):
        env_bool("X", False, environ={"X": "maybe"})


def test_env_int_checks_numbers_and_bounds() -> None:
    assert env_int("PORT", 8000, environ={"PORT": "9000"}) == 9000
    with pytest.raises(EnvError, match="PORT must be a whole number"):
        env_int("PORT", 8000, environ={"PORT": "eighty"})
    with pytest.raises(EnvError, match="PORT must be at most 65535"):
        env_int("PORT", 8000, maximum=65535, environ={"PORT": "70000"})


def test_env_str_and_list() -> None:
    with pytest.raises(EnvError, match="SITE_URL must be set"):
        env_str("SITE_URL", environ={})
    assert env_list("HOSTS", [], environ={"HOSTS": "a.example, b.example"}) == [
        "a.example",
        "b.example",
    ]
    with pytest.raises(EnvError, match="HOSTS must be a comma-separated list"):
        env_list("HOSTS", [], environ={"HOSTS": "a,,b"})


def test_env_choice_accepts_only_its_choices() -> None:
    levels = ["ERROR", "WARNING", "INFO", "DEBUG"]
    assert env_choice("LOG_LEVEL", "INFO", levels, environ={}) == "INFO"
    assert env_choice("LOG_LEVEL", "INFO", levels, environ={"LOG_LEVEL": "DEBUG"}) == "DEBUG"
    assert (
        env_choice(
            "LOG_LEVEL", "INFO", levels, case_insensitive=True, environ={"LOG_LEVEL": "warning"}
        )
        == "WARNING"
    )
    with pytest.raises(EnvError, match="LOG_LEVEL must be one of ERROR, WARNING, INFO, DEBUG"):
        env_choice("LOG_LEVEL", "INFO", levels, environ={"LOG_LEVEL": "warning"})


def test_env_url_accepts_http_and_https_urls_with_a_host() -> None:
    assert env_url("SITE_URL", environ={"SITE_URL": "https://a.example/x"}) == "https://a.example/x"
    assert env_url("SITE_URL", "http://127.0.0.1:8000", environ={}) == "http://127.0.0.1:8000"
    with pytest.raises(EnvError, match="SITE_URL must be set"):
        env_url("SITE_URL", environ={})
    for bad in ("a.example", "ftp://a.example", "https://", "file:///etc/passwd"):
        with pytest.raises(EnvError, match="SITE_URL must be an http:// or https:// URL"):
            env_url("SITE_URL", environ={"SITE_URL": bad})


def test_the_demo_refuses_a_bad_stripe_sandbox_port_naming_it(tmp_path: Path) -> None:
    carecall = str(Path(sys.executable).parent / "carecall")
    result = _run(
        [carecall, "demo"],
        {"CARECALL_VAR_DIR": str(tmp_path), "PORT": "8000", "STRIPE_SANDBOX_PORT": "eighty"},
    )
    assert result.returncode != 0
    assert "STRIPE_SANDBOX_PORT must be a whole number, not 'eighty'" in result.stderr
    assert "Traceback" not in result.stderr


def test_database_urls(tmp_path: Path) -> None:
    pg = database_from_url(
        "DATABASE_URL", "postgres://u:p%40ss@db.example:6543/care", base_dir=tmp_path
    )
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "care",
        "u",
        "p@ss",
        "db.example",
        "6543",
    )
    lite = database_from_url("DATABASE_URL", "sqlite:///var/x.sqlite3", base_dir=tmp_path)
    assert lite["NAME"] == str(tmp_path / "var/x.sqlite3")
    absolute = database_from_url("DATABASE_URL", "sqlite:////tmp/y.sqlite3", base_dir=tmp_path)
    assert absolute["NAME"] == "/tmp/y.sqlite3"
    # Connections are reused, and checked before reuse, on both engines.
    for config in (pg, lite):
        assert (config["CONN_MAX_AGE"], config["CONN_HEALTH_CHECKS"]) == (600, True)
    with pytest.raises(EnvError, match="DATABASE_URL must start with"):
        database_from_url("DATABASE_URL", "mysql://x/y", base_dir=tmp_path)
    with pytest.raises(EnvError, match="DATABASE_URL must look like"):
        database_from_url("DATABASE_URL", "postgres://", base_dir=tmp_path)


def test_email_urls(tmp_path: Path) -> None:
    smtp = email_from_url("EMAIL_URL", "smtp://me:pw@mail.example:587?tls=true", base_dir=tmp_path)
    assert (smtp.host, smtp.port, smtp.user, smtp.password, smtp.use_tls) == (
        "mail.example",
        587,
        "me",
        "pw",
        True,
    )
    files = email_from_url("EMAIL_URL", "file://var/mail", base_dir=tmp_path)
    assert files.backend.endswith("EmlFileBackend")
    assert files.file_path == str(tmp_path / "var/mail")
    absolute = email_from_url("EMAIL_URL", f"file://{tmp_path / 'mail'}", base_dir=Path("/x"))
    assert absolute.file_path == str(tmp_path / "mail")
    with pytest.raises(EnvError, match="EMAIL_URL must start with"):
        email_from_url("EMAIL_URL", "carrier-pigeon://coo", base_dir=tmp_path)


def test_production_settings_pass_the_deploy_check_without_warnings() -> None:
    result = _run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_cookies_are_secure_and_http_only() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, s.DEBUG)"
    )
    result = _run([sys.executable, "-c", code], PRODUCTION)
    assert result.stdout.split() == ["True", "True", "True", "True", "True", "False"], result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SECRET_KEY", "", "SECRET_KEY must be set"),
        ("SECRET_KEY", "short", "SECRET_KEY must be at least 50 characters"),
        ("DEBUG", "perhaps", "DEBUG must be one of"),
        ("DATABASE_URL", "oracle://db", "DATABASE_URL must start with"),
        ("SIGN_IN_FAILURE_LIMIT", "0", "SIGN_IN_FAILURE_LIMIT must be at least 1"),
        ("ALLOWED_HOSTS", "", "ALLOWED_HOSTS must list"),
        ("LOG_LEVEL", "CHATTY", "LOG_LEVEL must be one of CRITICAL, ERROR, WARNING, INFO"),
        ("SITE_URL", "carecall.example", "SITE_URL must be an http:// or https:// URL"),
        ("SITE_URL", "ftp://carecall.example", "SITE_URL must be an http:// or https:// URL"),
        ("STRIPE_API_BASE", "api.stripe.com", "STRIPE_API_BASE must be an http:// or https://"),
        ("STRIPE_CONNECT_BASE", "https://", "STRIPE_CONNECT_BASE must be an http:// or https://"),
        ("STRIPE_JS_URL", "javascript:alert(1)", "STRIPE_JS_URL must be an http:// or https://"),
        ("STRIPE_DASHBOARD_URL", "https://x:port/", "STRIPE_DASHBOARD_URL has a port that is not"),
    ],
)
def test_a_bad_setting_stops_the_process_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    result = _run(
        [sys.executable, "-c", "import django; django.setup()"], {**PRODUCTION, variable: value}
    )
    assert result.returncode != 0
    assert message in result.stderr


LIVE_STRIPE_KEY = re.compile(r"\b(?:sk|rk)_live_[0-9A-Za-z]{20,}")
WEBHOOK_SECRET = re.compile(r"\bwhsec_[0-9A-Za-z_+/=]*")
# The placeholders the code and tests use: lowercase words (whsec_carecall_tests, whsec_demo).
PLACEHOLDER_WEBHOOK_SECRET = re.compile(r"whsec_(?:[a-z]+(?:_[a-z]+)*)?")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def secrets_in(text: str) -> list[str]:
    """Live Stripe keys, real-looking webhook signing secrets and private keys in `text`."""
    found = [m.group(0) for m in LIVE_STRIPE_KEY.finditer(text)]
    found += [
        m.group(0)
        for m in WEBHOOK_SECRET.finditer(text)
        if not PLACEHOLDER_WEBHOOK_SECRET.fullmatch(m.group(0))
    ]
    found += [m.group(0) for m in PRIVATE_KEY.finditer(text)]
    return found


def test_the_secret_scanner_finds_real_looking_secrets_and_allows_placeholders() -> None:
    live = "sk_" + "live_" + "51HxYzAbCdEfGhIjKlMnOpQrStUv"
    restricted = "rk_" + "live_" + "51HxYzAbCdEfGhIjKlMnOpQrStUv"
    webhook = "whsec_" + "8f3KpQ2mZx9LwR4tY7uB1nC5vD0eA6sG"
    private = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIE..."
    assert secrets_in(f"key = '{live}'\n{restricted}") == [live, restricted]
    assert secrets_in(f"STRIPE_WEBHOOK_SECRET={webhook}") == [webhook]
    assert secrets_in(private) == [private.splitlines()[0]]
    placeholders = (
        "whsec_carecall_tests whsec_demo whsec_abc whsec_ sk_test_carecall_demo "
        "sk_live_abcdef123456 pk_live_x 'sk_live_…'"
    )
    assert secrets_in(placeholders) == []


def test_no_secret_is_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    tracked = [name for name in tracked if name]
    assert "var/secret_key" not in tracked
    assert not any(name.startswith("var/") for name in tracked)
    leaks = {}
    for name in tracked:
        path = ROOT / name
        if not path.is_file():  # deleted in the work tree, or a submodule
            continue
        found = secrets_in(path.read_bytes().decode("utf-8", errors="replace"))
        if found:
            leaks[name] = found
    assert leaks == {}
