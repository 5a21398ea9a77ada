"""Health check, Content Security Policy, CSRF, the `carecall` command and mail to files."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse

from carecall.core.tests.test_settings_and_env import PRODUCTION, ROOT, SETTING_VARIABLES
from carecall.notifications.backends import EmlFileBackend
from testsupport.services import free_port


def _env(extra: dict[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in SETTING_VARIABLES}
    return {**clean, **extra}


@pytest.mark.django_db
def test_healthz_says_the_database_is_reachable() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_when_the_database_cannot_be_reached() -> None:
    # A real PostgreSQL URL on a port where nothing listens.
    code = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz', HTTP_HOST='carecall.example', secure=True); "
        "print(r.status_code, r.json()['database'])"
    )
    env = _env({**PRODUCTION, "DATABASE_URL": f"postgres://nobody@127.0.0.1:{free_port()}/none"})
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["503", "unreachable"], result.stderr


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy() -> None:
    policy = Client().get(reverse("accounts:sign_in"))["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert "unsafe-inline" not in policy


def test_a_page_that_uses_the_nonce_gets_it_in_its_policy_fresh_each_time(rf) -> None:
    from csp.middleware import CSPMiddleware
    from django.http import HttpResponse

    def view(request):
        return HttpResponse(f'<script nonce="{request.csp_nonce}">1</script>')

    middleware = CSPMiddleware(view)
    nonces = []
    for _ in range(2):
        request = rf.get("/")
        response = cast(HttpResponse, middleware(request))
        nonce = response.content.decode().split('nonce="')[1].split('"')[0]
        assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


@pytest.mark.django_db
def test_forms_without_the_csrf_token_are_refused(world) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("accounts:sign_in"), {"username": world.clinician.email, "password": "x"}
    )
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()


def test_carecall_serve_refuses_debug_and_a_missing_secret_key() -> None:
    carecall = str(Path(sys.executable).parent / "carecall")
    debug = subprocess.run(
        [carecall, "serve"],
        cwd=ROOT,
        env=_env({**PRODUCTION, "DEBUG": "true"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert debug.returncode != 0 and "refuses to run with DEBUG on" in debug.stderr
    no_key = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    missing = subprocess.run(
        [carecall, "serve"], cwd=ROOT, env=_env(no_key), capture_output=True, text=True, timeout=60
    )
    assert missing.returncode != 0 and "needs SECRET_KEY" in missing.stderr


def test_carecall_serve_refuses_several_workers_without_redis() -> None:
    """Without REDIS_URL each process delivers live events only to its own sockets: two
    workers would silently lose the signalling between them."""
    carecall = str(Path(sys.executable).parent / "carecall")
    result = subprocess.run(
        [carecall, "serve"],
        cwd=ROOT,
        env=_env({**PRODUCTION, "WEB_WORKERS": "2"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "WEB_WORKERS above 1 needs REDIS_URL" in result.stderr


def test_carecall_runs_django_management_commands() -> None:
    carecall = str(Path(sys.executable).parent / "carecall")
    result = subprocess.run(
        [carecall, "check"],
        cwd=ROOT,
        env=_env(PRODUCTION),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_mail_to_files_writes_one_readable_eml_per_message(tmp_path: Path) -> None:
    message = EmailMultiAlternatives(
        "Hello", "Plain body", "from@example.test", ["to@example.test"]
    )
    message.attach_alternative("<p>HTML body</p>", "text/html")
    assert EmlFileBackend(file_path=str(tmp_path)).send_messages([message]) == 1
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1
    parsed = email.message_from_bytes(files[0].read_bytes())
    assert parsed["Subject"] == "Hello" and parsed["To"] == "to@example.test"
    assert parsed.is_multipart()


@pytest.mark.django_db
def test_the_javascript_translation_catalogue_loads_for_every_page() -> None:
    response = Client().get(reverse("javascript-catalog"))
    assert response.status_code == 200
    assert b"gettext" in response.content
    page = Client().get(reverse("accounts:sign_in")).content.decode()
    assert reverse("javascript-catalog") in page
