"""The printable receipt a patient opens from the confirmation or the receipt email."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from carecall.payments.receipts import receipt_details, receipt_request_for


@never_cache  # no-store: a receipt holds a patient's name and card
@require_GET
def receipt(request: HttpRequest, signed: str) -> HttpResponse:
    pr = receipt_request_for(signed)
    if pr is None:
        raise Http404  # a bad or altered link, or a request that is not paid
    return render(request, "payments/receipt.html", {"receipt": receipt_details(pr)})
