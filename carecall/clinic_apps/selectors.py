from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from carecall.clinic_apps.models import (
    AppKey,
    AppRequest,
    ClinicApp,
    ClinicAppStatus,
    RequestStatus,
)
from carecall.orgs.models import Clinic


def clinic_app_is_enabled(clinic: Clinic, app: AppKey) -> bool:
    return ClinicApp.objects.filter(clinic=clinic, app=app, status=ClinicAppStatus.ENABLED).exists()


def clinic_app_enabled_exists(app: AppKey, clinic_ref: str) -> Exists:
    """`clinic_app_is_enabled` as an expression on an outer query whose field `clinic_ref` is
    the clinic's id, so that a read that needs it (a call socket's welcome) stays one query."""
    return Exists(
        ClinicApp.objects.filter(
            clinic_id=OuterRef(clinic_ref), app=app, status=ClinicAppStatus.ENABLED
        )
    )


@dataclass(frozen=True)
class ClinicAppRow:
    clinic: Clinic
    status: str  # "not_requested" or a ClinicAppStatus value
    label: str


def clinic_app_rows(clinics: list[Clinic], app: AppKey) -> list[ClinicAppRow]:
    from django.utils.translation import gettext as _

    states = {ca.clinic_id: ca for ca in ClinicApp.objects.filter(clinic__in=clinics, app=app)}
    rows = []
    for clinic in clinics:
        state = states.get(clinic.pk)
        if state is None:
            rows.append(ClinicAppRow(clinic, "not_requested", _("Not requested")))
        else:
            rows.append(
                ClinicAppRow(clinic, state.status, str(ClinicAppStatus(state.status).label))
            )
    return rows


def app_requests_pending() -> QuerySet[AppRequest]:
    return (
        AppRequest.objects.filter(status=RequestStatus.PENDING)
        .select_related("organisation", "requested_by")
        .prefetch_related("clinics")
        .order_by("created_at")
    )


def app_requests_decided() -> QuerySet[AppRequest]:
    return (
        AppRequest.objects.exclude(status=RequestStatus.PENDING)
        .select_related("organisation", "requested_by", "decided_by")
        .prefetch_related("clinics")
        .order_by("-decided_at")[:50]
    )


def enabled_clinic_apps() -> QuerySet[ClinicApp]:
    return (
        ClinicApp.objects.filter(status=ClinicAppStatus.ENABLED)
        .select_related("clinic", "clinic__organisation")
        .order_by("clinic__organisation__name", "clinic__name")
    )
