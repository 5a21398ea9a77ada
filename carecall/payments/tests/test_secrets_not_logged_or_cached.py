"""Tokens in links never reach the logs (uvicorn's access log, Django's request log), and pages
with personal or payment data answer `Cache-Control: no-store`."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

import stripe_sandbox
from carecall.core.log_masking import TokenMaskFilter, token_mask
from carecall.payments.models import PaymentRequest
from carecall.payments.tests.helpers import Call, request_payment
from testsupport.world import World, client_for

TOKEN = "s3cr3t-T0ken_abcdefghijklmnopqrstuvwxyz012"

SECRET_PATHS = [
    f"/v/{TOKEN}/",
    f"/v/{TOKEN}/payments/5b0c1b9e-52f8-4c7c-bb8a-7b8f7d0b2e10/complete/",
    f"/j/{TOKEN}/",
    f"/ws/visits/{TOKEN}/",
    f"/ws/guests/{TOKEN}/",
    f"/accounts/invitations/{TOKEN}/",
    f"/accounts/password-reset/MQ/{TOKEN}/",
    f"/receipts/{TOKEN}/",
    f"/payments/stripe/oauth/callback/?code={TOKEN}&state={TOKEN}",
]


@pytest.mark.parametrize("path", SECRET_PATHS)
def test_a_token_in_a_path_is_masked(path: str) -> None:
    masked = token_mask(path)
    assert TOKEN not in masked
    assert masked.split("/")[1] == path.split("/")[1]  # still says which page it was


def test_paths_without_secrets_are_logged_as_they_are() -> None:
    for path in ("/clinics/3/payments/?q=Pat", "/accounts/password-reset/done/", "/healthz"):
        assert token_mask(path) == path


def test_uvicorns_access_log_line_has_the_token_masked() -> None:
    """The access logger is given the filter when Django starts (CoreConfig.ready), and uvicorn's
    own formatter still gets its five arguments."""
    from uvicorn.logging import AccessFormatter

    logger = logging.getLogger("uvicorn.access")
    assert any(isinstance(f, TokenMaskFilter) for f in logger.filters)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    logger.addHandler(handler)
    # Other tests may have run uvicorn's or Django's logging setup: start from a known state.
    # setLevel (not `logger.level =`) also clears the logger's isEnabledFor cache, which would
    # otherwise still answer from before, and a global logging.disable() is lifted meanwhile.
    level, disabled, disabled_below = logger.level, logger.disabled, logging.root.manager.disable
    logger.setLevel(logging.INFO)
    logger.disabled = False
    logging.disable(logging.NOTSET)
    try:
        logger.info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", f"/v/{TOKEN}/", "1.1", 200)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.disabled = disabled
        logging.disable(disabled_below)
    line = stream.getvalue()
    assert "GET /v/…/ HTTP/1.1" in line and TOKEN not in line


@pytest.mark.django_db
def test_djangos_request_log_has_the_token_masked() -> None:
    """A wrong patient link is a 404 that Django logs ("Not Found: <path>") to the console."""
    console = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, TokenMaskFilter) for f in h.filters)
    )
    assert isinstance(console, logging.StreamHandler)
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        assert Client().get(f"/v/{TOKEN}/").status_code == 404
    finally:
        console.setStream(previous)
    logged = stream.getvalue()
    assert "Not Found: /v/…/" in logged and TOKEN not in logged


# ----------------------------------------------------------------------------- no-store


@pytest.fixture
def asked(
    connected: World,
    call: Call,
    sandbox: stripe_sandbox.SandboxServer,
    django_capture_on_commit_callbacks: Any,
) -> PaymentRequest:
    with django_capture_on_commit_callbacks(execute=True):
        return request_payment(connected, call)


def test_pages_with_payment_or_personal_data_answer_no_store(
    connected: World, call: Call, asked: PaymentRequest
) -> None:
    clinic = connected.harbour.pk
    admin = client_for(connected.clinic_admin)
    patient = Client()
    staff_pages = [
        reverse("payments:payment_detail", args=[clinic, asked.pk]),
        reverse("payments:clinic_payments", args=[clinic]),
        reverse("payments:clinic_payments_csv", args=[clinic]),
        reverse("payments:clinic_report", args=[clinic]),
        call.staff_url(),
    ]
    org_csv = client_for(connected.org_admin).get(
        reverse("payments:org_payments_csv", args=[connected.organisation.pk])
    )
    assert org_csv.status_code == 200 and org_csv["Cache-Control"] == "no-store"
    for url in staff_pages:
        response = admin.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "no-store", url
    for url in (f"/v/{call.token}/", call.payer_url(), call.payer_url(asked)):
        response = patient.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "no-store", url


def test_views_that_choose_their_own_caching_keep_it(db: None) -> None:
    response = Client().get(reverse("javascript-catalog"))
    assert "max-age=3600" in response["Cache-Control"]
