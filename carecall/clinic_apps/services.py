"""Requesting, approving, declining and disabling add-on apps for clinics."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carecall.accounts.models import User
from carecall.audit.services import audit_record
from carecall.clinic_apps.audit_actions import AppAction
from carecall.clinic_apps.models import (
    AppKey,
    AppRequest,
    ClinicApp,
    ClinicAppStatus,
    RequestStatus,
)
from carecall.core.errors import ServiceError
from carecall.notifications.services import email_send
from carecall.orgs.access import MANAGERS, clinic_for_user
from carecall.orgs.models import Clinic, Organisation


@transaction.atomic
def app_request_create(
    *,
    actor: User,
    organisation: Organisation,
    app: AppKey,
    clinics: Sequence[Clinic],
    manager_name: str,
    manager_email: str,
    manager_phone: str,
    accept_terms: bool,
) -> AppRequest:
    """Ask the operator to enable an app for clinics (org admins: any; clinic admins: theirs)."""
    if not clinics:
        raise ServiceError(_("Choose at least one clinic."), field="clinics")
    for clinic in clinics:
        if clinic.organisation_id != organisation.pk:
            raise PermissionDenied(_("That clinic belongs to another organisation."))
        clinic_for_user(actor, clinic.pk, roles=MANAGERS)
    if not manager_name.strip():
        raise ServiceError(
            _("Enter the authorised telehealth manager's name."), field="manager_name"
        )
    try:
        validate_email(manager_email.strip())
    except Exception:
        raise ServiceError(_("Enter the manager's email address."), field="manager_email") from None
    if not manager_phone.strip():
        raise ServiceError(_("Enter the manager's phone number."), field="manager_phone")
    if not accept_terms:
        raise ServiceError(
            _("Accept the terms of the Payment Gateway to send the request."), field="accept_terms"
        )
    # One request at a time per organisation, so two at once cannot both pass the check below.
    Organisation.objects.select_for_update().get(pk=organisation.pk)
    enabled = [
        ca.clinic.name
        for ca in ClinicApp.objects.filter(
            clinic__in=clinics,
            app=app,
            status__in=[ClinicAppStatus.ENABLED, ClinicAppStatus.REQUESTED],
        ).select_related("clinic")
    ]
    if enabled:
        raise ServiceError(
            _("Already requested or enabled for: %(names)s.")
            % {"names": ", ".join(sorted(enabled))},
            field="clinics",
        )
    request = AppRequest.objects.create(
        organisation=organisation,
        app=app,
        requested_by=actor,
        manager_name=manager_name.strip(),
        manager_email=manager_email.strip().lower(),
        manager_phone=manager_phone.strip(),
        terms_accepted_at=timezone.now(),
    )
    request.clinics.set(clinics)
    for clinic in clinics:
        ClinicApp.objects.update_or_create(
            clinic=clinic,
            app=app,
            defaults={"status": ClinicAppStatus.REQUESTED, "request": request},
        )
    names = ", ".join(sorted(c.name for c in clinics))
    audit_record(
        action=AppAction.APP_REQUESTED,
        actor=actor,
        organisation=organisation,
        target=f"app_request:{request.pk}",
        summary=f"Requested {AppKey(app).label} for {names} (manager {request.manager_name})",
    )
    return request


def _require_operator(actor: User) -> None:
    if not actor.is_staff:
        raise PermissionDenied(_("Only platform operators decide app requests."))


@transaction.atomic
def app_request_decide(
    *, actor: User, request: AppRequest, approve: bool, comment: str
) -> AppRequest:
    _require_operator(actor)
    request = AppRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != RequestStatus.PENDING:
        raise ServiceError(_("This request was decided already."))
    if not approve and not comment.strip():
        raise ServiceError(_("Say why the request is declined."), field="comment")
    request.status = RequestStatus.APPROVED if approve else RequestStatus.DECLINED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_comment = comment.strip()
    request.save()
    new_status = ClinicAppStatus.ENABLED if approve else ClinicAppStatus.DECLINED
    names = ", ".join(sorted(c.name for c in request.clinics.all()))
    audit_record(
        action=AppAction.APP_APPROVED if approve else AppAction.APP_DECLINED,
        actor=actor,
        organisation=request.organisation,
        target=f"app_request:{request.pk}",
        summary=f"{'Approved' if approve else 'Declined'} {AppKey(request.app).label} for {names}"
        + (f": {request.decision_comment}" if request.decision_comment else ""),
    )
    for clinic in request.clinics.all():
        ClinicApp.objects.update_or_create(
            clinic=clinic, app=request.app, defaults={"status": new_status, "request": request}
        )
    email_send(
        to=request.requested_by.email,
        template="clinic_apps/email/decision",
        context={
            "request": request,
            "approved": approve,
            "clinics": list(request.clinics.order_by("name")),
            "app": AppKey(request.app).label,
        },
    )
    return request


@transaction.atomic
def clinic_app_disable(*, actor: User, clinic_app: ClinicApp) -> ClinicApp:
    _require_operator(actor)
    clinic_app = ClinicApp.objects.select_for_update().get(pk=clinic_app.pk)
    clinic_app.status = ClinicAppStatus.DISABLED
    clinic_app.save(update_fields=["status", "updated_at"])
    audit_record(
        action=AppAction.APP_DISABLED,
        actor=actor,
        clinic=clinic_app.clinic,
        target=f"clinic_app:{clinic_app.pk}",
        summary=f"Disabled {AppKey(clinic_app.app).label} for {clinic_app.clinic.name}",
    )
    return clinic_app
