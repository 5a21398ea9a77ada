"""The demo (orgs' demo_seed, with the seeders apps register) starts Harbour GP with one
Payment Gateway request waiting for the operator, however often it runs."""

from __future__ import annotations

import pytest

from carecall.clinic_apps.models import AppKey, AppRequest, RequestStatus
from carecall.orgs.demo import ORG_ADMIN, demo_seed


@pytest.mark.django_db
def test_the_demo_seeds_one_waiting_payment_gateway_request_for_harbour_gp() -> None:
    demo_seed()
    demo_seed()
    (request,) = AppRequest.objects.all()
    assert request.app == AppKey.PAYMENT_GATEWAY
    assert request.status == RequestStatus.PENDING
    assert request.requested_by.email == ORG_ADMIN.email
    assert [c.slug for c in request.clinics.all()] == ["harbour-gp"]
