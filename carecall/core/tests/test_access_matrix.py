"""The access matrix: every route of the URL configuration (found by walking the resolver, so a
new view is covered) × every persona, GET and POST (empty body), against the answers declared
in `access_matrix.py` beside it. A route without a declared row fails the suite.

Each route's URL is built with real ids of one scene: the root `world` with Harbour GP's
Payment Gateway enabled and its Stripe account connected (a real sandbox), a call in progress,
a payment request in it, a pending app request, an invitation, a guest link. Personas: the
root conftest's PERSONAS and `patient`, the browser that opened its visit link (links are
bearer keys: every persona uses the same real token). A refused answer (sign-in, 403, 404, 405)
must leave every row as it was; an allowed POST runs in a savepoint rolled back afterwards, so
every persona meets the same scene. The per-app persona tests check what each answer contains;
this is the net over all of them. The Django admin is walked only as "staff only"."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, path, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

import stripe_sandbox
from carecall.calls.services import guest_invite_create
from carecall.clinic_apps.models import AppKey, ClinicApp
from carecall.clinic_apps.services import app_request_create
from carecall.core.tests.access_matrix import (
    ADMIN,
    EVERYONE,
    EXPECTED,
    JSON_ROUTES,
    LOGIN,
    SIGN_IN_IS_THE_ANSWER,
)
from carecall.orgs.invitations import invitation_create
from carecall.orgs.models import Role
from carecall.payments.receipts import receipt_url
from carecall.payments.tests.helpers import (
    Call,
    connect_clinic,
    enable_payment_gateway,
    request_payment,
    start_call,
)
from config import urls as project_urls
from testsupport.world import PERSONAS, World, client_for

# ----------------------------------------------------------------------------- the walk


@dataclass(frozen=True)
class Route:
    key: str  # the namespaced name, or the pattern where a route has none
    pattern: str
    resolver: URLPattern


def routes(
    patterns: Sequence[object] | None = None, prefix: str = "", ns: str = ""
) -> Iterator[Route]:
    """Every route of the active URL configuration; the Django admin as one entry."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                yield Route(ADMIN, prefix + str(entry.pattern), None)  # type: ignore[arg-type]
                continue
            inner = ns + (f"{entry.namespace}:" if entry.namespace else "")
            yield from routes(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            key = f"{ns}{entry.name}" if entry.name else prefix + str(entry.pattern)
            yield Route(key, prefix + str(entry.pattern), entry)


def undeclared_routes() -> list[str]:
    return sorted(r.key for r in routes() if r.key not in EXPECTED)


# ----------------------------------------------------------------------------- the scene


@dataclass
class Scene:
    world: World
    call: Call
    pr: Any
    guest_token: str
    invitation_token: str
    app_request_id: int
    clinic_app_id: int
    invitation_id: int

    def kwargs(self, route: Route) -> dict[str, object]:
        w = self.world
        by_name: dict[str, object] = {
            "clinic_id": w.harbour.pk,
            "organisation_id": w.organisation.pk,
            "visit_id": self.call.visit.pk,
            "payment_id": self.pr.pk,
            "slug": w.harbour.slug,
            "signed": receipt_url(self.pr).rstrip("/").rsplit("/", 1)[-1],
            "clinic_app_id": self.clinic_app_id,
            "invitation_id": self.invitation_id,
            "uidb64": urlsafe_base64_encode(force_bytes(w.clinician.pk)),
            "kind": "v",
        }
        names = list(route.resolver.pattern.regex.groupindex)
        found: dict[str, object] = {}
        for name in names:
            if name == "request_id":
                found[name] = (
                    self.app_request_id if route.key.startswith("clinic_apps:") else self.pr.pk
                )
            elif name == "membership_id":
                # The clinic's clinician; at the organisation, its admin.
                place = None if route.key.startswith("orgs:organisation") else w.harbour
                user = w.org_admin if place is None else w.clinician
                found[name] = w.membership(user, place).pk
            elif name == "token":
                found[name] = {
                    "calls:guest": self.guest_token,
                    "orgs:invitation": self.invitation_token,
                    "accounts:password_reset_confirm": default_token_generator.make_token(
                        w.clinician
                    ),
                }.get(route.key, self.call.token)
            else:
                found[name] = by_name[name]
        return found

    def url(self, route: Route) -> str:
        return (
            reverse(route.key, kwargs=self.kwargs(route))
            if ":" in route.key or route.resolver.name
            else "/" + route.pattern
        )

    def client(self, persona: str) -> Client:
        if persona == "patient":
            browser = Client()
            browser.get(f"/v/{self.call.token}/")
            return browser
        return client_for(self.world.persona(persona))


@pytest.fixture(scope="module")
def matrix_sandbox() -> Iterator[stripe_sandbox.SandboxServer]:
    with stripe_sandbox.start(port=0) as server:
        yield server


@pytest.fixture
def scene(
    world: World,
    matrix_sandbox: stripe_sandbox.SandboxServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> Scene:
    matrix_sandbox.reset()
    settings.STRIPE_API_BASE = matrix_sandbox.url
    settings.STRIPE_CONNECT_BASE = matrix_sandbox.url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    enable_payment_gateway(world, world.harbour)
    connect_clinic(world, matrix_sandbox, world.harbour)
    world.harbour.refresh_from_db()
    call = start_call(world)
    pr = request_payment(world, call)
    _guest, guest_url = guest_invite_create(
        actor=world.clinician, visit=call.visit, base_url="http://testserver"
    )
    pending = app_request_create(
        actor=world.org_admin,
        organisation=world.organisation,
        app=AppKey.PAYMENT_GATEWAY,
        clinics=[world.northside],
        manager_name="Olivia Nguyen",
        manager_email="olivia@example.test",
        manager_phone="+61 2 9000 0000",
        accept_terms=True,
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(
            actor=world.clinic_admin,
            organisation=world.organisation,
            clinic=world.harbour,
            email="new@example.test",
            role=Role.CLINICIAN,
        )
    link = re.search(r"/accounts/invitations/([^/\s]+)/", str(mail.outbox[-1].body))
    assert link is not None
    return Scene(
        world=world,
        call=call,
        pr=pr,
        guest_token=guest_url.rstrip("/").rsplit("/", 1)[-1],
        invitation_token=link.group(1),
        app_request_id=pending.pk,
        clinic_app_id=ClinicApp.objects.get(clinic=world.harbour, app=AppKey.PAYMENT_GATEWAY).pk,
        invitation_id=invitation.pk,
    )


# ----------------------------------------------------------------------------- the answers


def snapshot() -> dict[str, list[str]]:
    """Every row of every table but sessions (a request may save its own session)."""
    rows: dict[str, list[str]] = {}
    for model in apps.get_models():
        if model._meta.db_table == "django_session":
            continue
        rows[model._meta.label] = sorted(map(repr, model._default_manager.values_list()))
    return rows


REFUSED = {LOGIN, 403, 404, 405}


def answer(response: Any) -> object:
    if response.status_code == 302 and response["Location"].startswith(reverse("accounts:sign_in")):
        return LOGIN
    return response.status_code


def json_error_problem(response: Any) -> str | None:
    """JSON endpoints answer JSON errors with a reason (405 and the sign-in redirect aside)."""
    if response.status_code < 400 or response.status_code == 405:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"not JSON: {response.content[:80]!r}"
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) or not body["error"]:
        return f"no error reason: {body!r}"[:120]
    return None


def persona_savepoint() -> transaction.Atomic:
    """A savepoint rolled back after each persona's request. Marked as the test case's own, as
    Django's TestCase marks its transactions, so the Stripe gateway's no-call-in-a-transaction
    guard (which ignores those) still judges the code's own transactions only."""
    block = transaction.atomic()
    block._from_testcase = True  # type: ignore[attr-defined]
    return block


def observe(scene: Scene, route: Route, method: str) -> tuple[list[object], list[str]]:
    answers: list[object] = []
    problems: list[str] = []
    for persona in EVERYONE:
        client = scene.client(persona)
        client.raise_request_exception = False
        url = scene.url(route)  # after signing in: a password reset link depends on last_login
        before = snapshot()
        with persona_savepoint():
            response = client.get(url) if method == "GET" else client.post(url)
            got = answer(response)
            refused = got in REFUSED and route.key not in SIGN_IN_IS_THE_ANSWER
            after = snapshot() if refused else before
            transaction.set_rollback(True)
        answers.append(got)
        if after != before:
            changed = [t for t in before if before[t] != after.get(t)]
            problems.append(f"{persona}: refused with {got} but changed {changed}")
        if route.key in JSON_ROUTES and got != LOGIN:
            problem = json_error_problem(response)
            if problem:
                problems.append(f"{persona}: {got} {problem}")
    return answers, problems


ROUTES = sorted(r.key for r in routes())


def test_every_route_has_declared_answers() -> None:
    assert [*PERSONAS, "patient"] == EVERYONE
    assert len(ROUTES) >= 50  # the walk reaches every app (it can fail)
    assert undeclared_routes() == []
    assert sorted(set(EXPECTED) - set(ROUTES)) == []  # no row for a route that is gone


def _dummy_view(request: Any) -> Any:  # pragma: no cover - never requested
    raise AssertionError


urlpatterns = [*project_urls.urlpatterns, path("dummy-new-view/", _dummy_view, name="dummy")]


@override_settings(ROOT_URLCONF=__name__)
def test_a_new_view_without_declared_answers_fails_the_matrix() -> None:
    assert undeclared_routes() == ["dummy"]


@pytest.mark.parametrize("key", ROUTES)
def test_each_persona_gets_the_declared_answer(scene: Scene, key: str) -> None:
    (route,) = [r for r in routes() if r.key == key]
    # An undeclared route (test_every_route_has_declared_answers fails for it) still reports
    # what each persona got: the row to review and declare.
    expected = EXPECTED.get(key, {})
    if key == ADMIN:
        _check_admin(scene, route, expected)
        return
    report = []
    for method in ("GET", "POST"):
        answers, problems = observe(scene, route, method)
        want = expected.get(method)
        if answers != want:
            report.append(f"{method} expected {want}\n{' ' * len(method)}      got {answers}")
        report.extend(f"{method} {p}" for p in problems)
    assert not report, f"{key} ({', '.join(EVERYONE)}):\n" + "\n".join(report)


def _check_admin(scene: Scene, route: Route, expected: dict[str, list[object]]) -> None:
    """The Django admin: its index answers staff only (sign-in for everyone else)."""
    url = "/" + route.pattern
    answers: list[object] = []
    for persona in EVERYONE:
        response = scene.client(persona).get(url)
        to_login = response.status_code == 302 and "/login/" in response["Location"]
        answers.append(LOGIN if to_login else response.status_code)
    assert answers == expected.get("GET"), answers
