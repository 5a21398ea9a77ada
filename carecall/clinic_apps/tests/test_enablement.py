"""Requesting the Payment Gateway, the operator's decision, and what each clinic then shows."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from carecall.clinic_apps.models import (
    AppKey,
    AppRequest,
    ClinicApp,
    ClinicAppStatus,
    RequestStatus,
)
from carecall.clinic_apps.selectors import clinic_app_is_enabled
from carecall.clinic_apps.services import (
    app_request_create,
    app_request_decide,
    clinic_app_disable,
)
from carecall.core.errors import ServiceError
from carecall.orgs.models import Clinic
from testsupport.world import World, client_for

MANAGER = {
    "manager_name": "Olivia Nguyen",
    "manager_email": "Olivia@Example.test",
    "manager_phone": "+61 2 9000 0000",
}


def _form(*clinics: Clinic, accept: bool = True, **changes: str) -> dict[str, Any]:
    data: dict[str, Any] = {"clinics": [c.pk for c in clinics], **MANAGER, **changes}
    if accept:
        data["accept_terms"] = "on"
    return data


def _request(world: World, *clinics: Clinic) -> AppRequest:
    return app_request_create(
        actor=world.org_admin,
        organisation=world.organisation,
        app=AppKey.PAYMENT_GATEWAY,
        clinics=list(clinics),
        manager_name="Olivia Nguyen",
        manager_email="olivia@example.test",
        manager_phone="+61 2 9000 0000",
        accept_terms=True,
    )


def _statuses(world: World) -> dict[str, str]:
    return {
        ca.clinic.name: ca.status
        for ca in ClinicApp.objects.select_related("clinic").filter(app=AppKey.PAYMENT_GATEWAY)
    }


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _decide(world: World, request: AppRequest, decision: str, comment: str = "") -> Any:
    return client_for(world.operator).post(
        reverse("clinic_apps:operator_decide", args=[request.pk]),
        {"decision": decision, f"r{request.pk}-comment": comment},
    )


# ----------------------------------------------------------------------------- requesting


def test_org_admin_requests_payment_gateway_for_clinics_and_it_waits_in_the_operator_queue(
    world: World,
) -> None:
    url = reverse("clinic_apps:organisation_apps", args=[world.organisation.pk])
    response = client_for(world.org_admin).post(url, _form(world.harbour, world.northside))

    assert response.status_code == 302
    request = AppRequest.objects.get()
    assert request.status == RequestStatus.PENDING
    assert request.requested_by == world.org_admin
    assert set(request.clinics.all()) == {world.harbour, world.northside}
    assert (request.manager_name, request.manager_email, request.manager_phone) == (
        "Olivia Nguyen",
        "olivia@example.test",
        "+61 2 9000 0000",
    )
    assert request.terms_accepted_at is not None
    assert _statuses(world) == {"Harbour GP": "requested", "Northside Physio": "requested"}

    queue = client_for(world.operator).get(reverse("clinic_apps:operator_queue"))
    assert queue.status_code == 200
    page = queue.content.decode()
    assert "Payment Gateway for Demo Health" in page
    for expected in ("Harbour GP", "Northside Physio", "olivia@example.test", "+61 2 9000 0000"):
        assert expected in page
    assert reverse("clinic_apps:operator_decide", args=[request.pk]) in page


def test_clinic_admin_requests_payment_gateway_for_their_own_clinic(world: World) -> None:
    url = reverse("clinic_apps:clinic_apps", args=[world.harbour.pk])
    response = client_for(world.clinic_admin).post(url, _form(world.harbour))

    assert response.status_code == 302
    request = AppRequest.objects.get()
    assert request.requested_by == world.clinic_admin
    assert list(request.clinics.all()) == [world.harbour]
    assert _statuses(world) == {"Harbour GP": "requested"}


def test_clinic_admin_cannot_request_payment_gateway_for_another_clinic(world: World) -> None:
    admin = client_for(world.clinic_admin)
    # Through the other clinic's page, the organisation's page, and by slipping the other
    # clinic into their own clinic's form.
    assert (
        admin.post(
            reverse("clinic_apps:clinic_apps", args=[world.northside.pk]), _form(world.northside)
        ).status_code
        == 403
    )
    assert (
        admin.post(
            reverse("clinic_apps:organisation_apps", args=[world.organisation.pk]),
            _form(world.northside),
        ).status_code
        == 403
    )
    response = admin.post(
        reverse("clinic_apps:clinic_apps", args=[world.harbour.pk]), _form(world.northside)
    )
    assert response.status_code == 400
    with pytest.raises(PermissionDenied):
        app_request_create(
            actor=world.clinic_admin,
            organisation=world.organisation,
            app=AppKey.PAYMENT_GATEWAY,
            clinics=[world.northside],
            manager_name="Hannah Brooks",
            manager_email="hannah@example.test",
            manager_phone="02 9000 0001",
            accept_terms=True,
        )
    assert not AppRequest.objects.exists()
    assert not ClinicApp.objects.exists()


def test_org_admin_cannot_request_for_a_clinic_of_another_organisation(world: World) -> None:
    with pytest.raises(PermissionDenied):
        _request(world, world.other_clinic)
    response = client_for(world.org_admin).post(
        reverse("clinic_apps:organisation_apps", args=[world.organisation.pk]),
        _form(world.other_clinic),
    )
    assert response.status_code == 400
    assert not AppRequest.objects.exists()


@pytest.mark.parametrize(
    ("changes", "accept", "message"),
    [
        ({}, False, "Accept the terms of the Payment Gateway"),
        ({"manager_name": "   "}, True, "This field is required."),
        ({"manager_phone": "  "}, True, "This field is required."),
        ({"manager_email": "not-an-email"}, True, "Enter a valid email address"),
    ],
    ids=["terms-not-accepted", "no-manager-name", "no-manager-phone", "bad-manager-email"],
)
def test_request_without_manager_details_or_terms_is_refused_with_a_reason(
    world: World, changes: dict[str, str], accept: bool, message: str
) -> None:
    url = reverse("clinic_apps:organisation_apps", args=[world.organisation.pk])
    response = client_for(world.org_admin).post(url, _form(world.harbour, accept=accept, **changes))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AppRequest.objects.exists()


def test_request_needs_at_least_one_clinic(world: World) -> None:
    with pytest.raises(ServiceError, match="Choose at least one clinic"):
        _request(world)


def test_duplicate_request_is_refused_with_a_message_while_pending_and_once_enabled(
    world: World,
) -> None:
    url = reverse("clinic_apps:organisation_apps", args=[world.organisation.pk])
    admin = client_for(world.org_admin)
    assert admin.post(url, _form(world.harbour)).status_code == 302

    again = admin.post(url, _form(world.harbour, world.northside))
    assert again.status_code == 400
    assert "Already requested or enabled for: Harbour GP." in again.content.decode()
    assert AppRequest.objects.count() == 1
    assert _statuses(world) == {"Harbour GP": "requested"}

    assert _decide(world, AppRequest.objects.get(), "approve").status_code == 302
    with pytest.raises(ServiceError, match="Already requested or enabled for: Harbour GP"):
        _request(world, world.harbour)


def test_a_declined_clinic_can_be_requested_again(world: World) -> None:
    first = _request(world, world.harbour)
    app_request_decide(actor=world.operator, request=first, approve=False, comment="No ABN.")
    second = _request(world, world.harbour)
    assert second.status == RequestStatus.PENDING
    assert _statuses(world) == {"Harbour GP": "requested"}


# ----------------------------------------------------------------------------- deciding


def test_approval_with_comment_enables_exactly_the_requested_clinics_and_emails_requester(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    request = _request(world, world.harbour)
    with django_capture_on_commit_callbacks(execute=True):
        response = _decide(world, request, "approve", "Welcome aboard.")

    assert response.status_code == 302
    assert "Approved: the app is enabled for the request's clinics." in _messages(response)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert request.decided_by == world.operator
    assert request.decision_comment == "Welcome aboard."
    assert clinic_app_is_enabled(world.harbour, AppKey.PAYMENT_GATEWAY)
    assert not clinic_app_is_enabled(world.northside, AppKey.PAYMENT_GATEWAY)
    assert not clinic_app_is_enabled(world.other_clinic, AppKey.PAYMENT_GATEWAY)
    assert _statuses(world) == {"Harbour GP": "enabled"}

    (email,) = mail.outbox
    assert email.to == ["olivia@example.test"]
    assert "Payment Gateway is enabled" in email.subject
    assert "Harbour GP" in email.body
    assert "Northside" not in email.body
    assert "Welcome aboard." in email.body
    html = email.alternatives[0][0]  # type: ignore[attr-defined]
    assert "Harbour GP" in html
    assert "Welcome aboard." in html


def test_decline_needs_a_comment(world: World, django_capture_on_commit_callbacks: Any) -> None:
    request = _request(world, world.harbour)
    with django_capture_on_commit_callbacks(execute=True):
        response = _decide(world, request, "decline", "   ")

    assert "Say why the request is declined." in _messages(response)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert _statuses(world) == {"Harbour GP": "requested"}
    assert mail.outbox == []


def test_decline_with_comment_marks_clinics_declined_and_emails_requester(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    request = app_request_create(
        actor=world.clinic_admin,
        organisation=world.organisation,
        app=AppKey.PAYMENT_GATEWAY,
        clinics=[world.harbour],
        manager_name="Hannah Brooks",
        manager_email="hannah@example.test",
        manager_phone="02 9000 0001",
        accept_terms=True,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = _decide(world, request, "decline", "We need the clinic's ABN first.")

    assert "Declined." in _messages(response)
    request.refresh_from_db()
    assert request.status == RequestStatus.DECLINED
    assert _statuses(world) == {"Harbour GP": "declined"}
    assert not clinic_app_is_enabled(world.harbour, AppKey.PAYMENT_GATEWAY)
    (email,) = mail.outbox
    assert email.to == ["hannah@example.test"]
    assert "declined" in email.subject
    assert "We need the clinic's ABN first." in email.body
    assert "Harbour GP" in email.body


def test_a_decided_request_cannot_be_decided_again(world: World) -> None:
    request = _request(world, world.harbour)
    app_request_decide(actor=world.operator, request=request, approve=True, comment="")
    response = _decide(world, request, "decline", "Changed my mind.")

    assert "This request was decided already." in _messages(response)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert _statuses(world) == {"Harbour GP": "enabled"}


@pytest.mark.parametrize("persona", ["org_admin", "clinic_admin", "clinician", "outsider"])
def test_non_operators_cannot_decide_or_disable(world: World, persona: str) -> None:
    request = _request(world, world.harbour)
    user = world.persona(persona)
    assert user is not None
    client = client_for(user)
    response = client.post(
        reverse("clinic_apps:operator_decide", args=[request.pk]),
        {"decision": "approve", f"r{request.pk}-comment": ""},
    )
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        app_request_decide(actor=user, request=request, approve=True, comment="")
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING

    app_request_decide(actor=world.operator, request=request, approve=True, comment="")
    clinic_app = ClinicApp.objects.get(clinic=world.harbour)
    response = client.post(reverse("clinic_apps:operator_disable", args=[clinic_app.pk]))
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        clinic_app_disable(actor=user, clinic_app=clinic_app)
    assert clinic_app_is_enabled(world.harbour, AppKey.PAYMENT_GATEWAY)


def test_operator_can_disable_an_enabled_clinic(world: World) -> None:
    request = _request(world, world.harbour, world.northside)
    app_request_decide(actor=world.operator, request=request, approve=True, comment="")
    harbour_app = ClinicApp.objects.get(clinic=world.harbour)

    queue = client_for(world.operator).get(reverse("clinic_apps:operator_queue")).content.decode()
    assert reverse("clinic_apps:operator_disable", args=[harbour_app.pk]) in queue
    response = client_for(world.operator).post(
        reverse("clinic_apps:operator_disable", args=[harbour_app.pk])
    )

    assert response.status_code == 302
    assert "Disabled for Harbour GP." in _messages(response)
    assert not clinic_app_is_enabled(world.harbour, AppKey.PAYMENT_GATEWAY)
    assert clinic_app_is_enabled(world.northside, AppKey.PAYMENT_GATEWAY)
    assert ClinicApp.objects.get(clinic=world.harbour).status == ClinicAppStatus.DISABLED


# ----------------------------------------------------------------------------- status per clinic


def _status_cells(html: str) -> dict[str, tuple[str, str]]:
    rows = re.findall(r'<th scope="row">([^<]+)</th><td data-status="([a-z_]+)">([^<]+)</td>', html)
    return {name: (status, label) for name, status, label in rows}


def test_apps_page_shows_status_per_clinic(world: World) -> None:
    eastside = Clinic.objects.create(organisation=world.organisation, name="Eastside", slug="east")
    westside = Clinic.objects.create(organisation=world.organisation, name="Westside", slug="west")
    approved = _request(world, world.harbour)
    app_request_decide(actor=world.operator, request=approved, approve=True, comment="")
    declined = _request(world, world.northside)
    app_request_decide(actor=world.operator, request=declined, approve=False, comment="No.")
    _request(world, eastside)

    page = client_for(world.org_admin).get(
        reverse("clinic_apps:organisation_apps", args=[world.organisation.pk])
    )
    assert page.status_code == 200
    assert _status_cells(page.content.decode()) == {
        "Eastside": ("requested", "Requested"),
        "Harbour GP": ("enabled", "Enabled"),
        "Northside Physio": ("declined", "Declined"),
        "Westside": ("not_requested", "Not requested"),
    }
    assert westside.pk  # listed although nothing was ever requested for it

    # A clinic admin sees their own clinic only.
    own = client_for(world.clinic_admin).get(
        reverse("clinic_apps:clinic_apps", args=[world.harbour.pk])
    )
    assert _status_cells(own.content.decode()) == {"Harbour GP": ("enabled", "Enabled")}


def test_every_step_is_in_the_audit_log(world: World) -> None:
    from carecall.audit.models import AuditEntry
    from carecall.clinic_apps.audit_actions import AppAction

    request = _request(world, world.harbour)
    app_request_decide(actor=world.operator, request=request, approve=True, comment="Welcome.")
    clinic_app_disable(actor=world.operator, clinic_app=ClinicApp.objects.get(clinic=world.harbour))

    entries = list(AuditEntry.objects.order_by("at", "id"))
    assert [(e.action, e.actor) for e in entries] == [
        (AppAction.APP_REQUESTED, world.org_admin),
        (AppAction.APP_APPROVED, world.operator),
        (AppAction.APP_DISABLED, world.operator),
    ]
    assert "Harbour GP" in entries[0].summary
    assert "Welcome." in entries[1].summary
