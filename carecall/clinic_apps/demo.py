"""clinic_apps' demo data (registered in ClinicAppsConfig.ready()): Harbour GP starts with a
Payment Gateway request waiting for the operator."""

from __future__ import annotations

from carecall.accounts.models import User
from carecall.clinic_apps.models import AppKey, AppRequest
from carecall.clinic_apps.services import app_request_create
from carecall.orgs.demo import ORG_ADMIN
from carecall.orgs.models import Clinic, Organisation


def demo_app_requests_seed(organisation: Organisation, clinics: dict[str, Clinic]) -> None:
    if AppRequest.objects.filter(organisation=organisation, app=AppKey.PAYMENT_GATEWAY).exists():
        return
    app_request_create(
        actor=User.objects.get(email=ORG_ADMIN.email),
        organisation=organisation,
        app=AppKey.PAYMENT_GATEWAY,
        clinics=[clinics["harbour-gp"]],
        manager_name="Olivia Nguyen",
        manager_email=ORG_ADMIN.email,
        manager_phone="02 9000 0000",
        accept_terms=True,
    )
