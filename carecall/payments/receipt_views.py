"""The printable receipt a patient opens from the confirmation (under their own visit or guest
link) or from the receipt email (a signed link). Read-only: nothing here writes."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from carecall.payments.models import PAID_STATUSES, PaymentRequest
from carecall.payments.receipts import receipt_details, receipt_request_for
from carecall.payments.views import payer_request_of


def _page(request: HttpRequest, pr: PaymentRequest) -> HttpResponse:
    return render(request, "payments/receipt.html", {"receipt": receipt_details(pr)})


@never_cache  # no-store: a receipt holds a patient's name and card
@require_GET
def receipt(request: HttpRequest, signed: str) -> HttpResponse:
    pr = receipt_request_for(signed)
    if pr is None:
        raise Http404  # a bad or altered link, or a request that is not paid
    return _page(request, pr)


@never_cache
@require_GET
def payer_receipt(request: HttpRequest, kind: str, token: str, request_id: str) -> HttpResponse:
    # 404 unless this link is the payer's (another visit's, a made-up one, a guest link in a
    # browser that did not claim it) and the request was paid: nobody else learns it exists.
    pr = payer_request_of(request, kind, token, request_id)
    if pr.status not in PAID_STATUSES:
        raise Http404
    return _page(request, pr)
