"""Every Apps endpoint, as each persona: who gets in, who gets 403 or 404, who must sign in.

Patients have no account: to these pages they are anonymous visitors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from carecall.clinic_apps.models import AppKey, AppRequest, ClinicApp, RequestStatus
from carecall.clinic_apps.services import app_request_create, app_request_decide
from testsupport.world import PERSONAS, World, client_for

SIGN_IN = "SIGN_IN"

# In the order of conftest.PERSONAS:
# org_admin, clinic_admin, clinician, other_clinician, outsider, operator, anonymous
ORG_ADMIN_ONLY = [200, 403, 403, 403, 404, 404, SIGN_IN]
HARBOUR_MANAGERS = [200, 200, 403, 403, 404, 404, SIGN_IN]
OPERATOR_PAGE = [403, 403, 403, 403, 403, 200, SIGN_IN]
OPERATOR_ACTION = [403, 403, 403, 403, 403, 302, SIGN_IN]


def _pending(world: World) -> AppRequest:
    return app_request_create(
        actor=world.org_admin,
        organisation=world.organisation,
        app=AppKey.PAYMENT_GATEWAY,
        clinics=[world.harbour],
        manager_name="Olivia Nguyen",
        manager_email="olivia@example.test",
        manager_phone="+61 2 9000 0000",
        accept_terms=True,
    )


def _enabled(world: World) -> ClinicApp:
    app_request_decide(actor=world.operator, request=_pending(world), approve=True, comment="")
    return ClinicApp.objects.get(clinic=world.harbour)


Endpoint = tuple[str, Callable[[World], str], dict[str, Any], list[object]]

ENDPOINTS: dict[str, Endpoint] = {
    "organisation apps page": (
        "get",
        lambda w: reverse("clinic_apps:organisation_apps", args=[w.organisation.pk]),
        {},
        ORG_ADMIN_ONLY,
    ),
    "clinic apps page": (
        "get",
        lambda w: reverse("clinic_apps:clinic_apps", args=[w.harbour.pk]),
        {},
        HARBOUR_MANAGERS,
    ),
    "operator queue": ("get", lambda w: reverse("clinic_apps:operator_queue"), {}, OPERATOR_PAGE),
    "approve a request": (
        "post",
        lambda w: reverse("clinic_apps:operator_decide", args=[_pending(w).pk]),
        {"decision": "approve"},
        OPERATOR_ACTION,
    ),
    "disable a clinic's app": (
        "post",
        lambda w: reverse("clinic_apps:operator_disable", args=[_enabled(w).pk]),
        {},
        OPERATOR_ACTION,
    ),
}

CASES = [
    pytest.param(name, persona, expected[i], id=f"{name}-as-{persona}")
    for name, (_m, _u, _d, expected) in ENDPOINTS.items()
    for i, persona in enumerate(PERSONAS)
]


@pytest.mark.parametrize(("name", "persona", "expected"), CASES)
def test_apps_endpoint_answers_each_persona_as_their_role_allows(
    world: World, name: str, persona: str, expected: object
) -> None:
    method, url_for, data, _expected = ENDPOINTS[name]
    url = url_for(world)
    client = client_for(world.persona(persona))
    response = client.get(url) if method == "get" else client.post(url, data)
    if expected == SIGN_IN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:sign_in"))
    else:
        assert response.status_code == expected, response.content[:300]


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_the_operator_changes_a_request_or_a_clinics_app(world: World, persona: str) -> None:
    request = _pending(world)
    client = client_for(world.persona(persona))
    client.post(
        reverse("clinic_apps:operator_decide", args=[request.pk]),
        {"decision": "approve", f"r{request.pk}-comment": "ok"},
    )
    request.refresh_from_db()
    assert (request.status == RequestStatus.APPROVED) == (persona == "operator")
