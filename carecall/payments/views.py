"""Payments pages and JSON endpoints. Thin: find the caller's access, call a service, answer.

JSON errors always say why: {"error": "...", "field": "amount"} with 400 (bad input), 403/404
(access), 409 (state), 503 (Stripe trouble: try again).
"""

from __future__ import annotations

import secrets
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carecall.accounts.models import User
from carecall.calls.access import (
    GUEST_SESSION_KEY,
    guest_for_token,
    visit_for_staff,
    visit_for_token,
)
from carecall.calls.models import Participant, ParticipantKind
from carecall.clinic_apps.models import AppKey
from carecall.clinic_apps.selectors import clinic_app_is_enabled
from carecall.core.currencies import CURRENCIES, amount_to_major
from carecall.core.errors import ServiceError
from carecall.core.json_body import BodyError, BodySchema, json_body_decode
from carecall.core.json_errors import json_errors
from carecall.core.ratelimit import (
    debounce_begin,
    debounce_end,
    per_address,
    per_url_token,
    rate_limited,
)
from carecall.orgs.access import MANAGERS, ClinicAccess, clinic_for_user
from carecall.payments import stripe_dashboard, webhooks
from carecall.payments.access import payment_is_visible, payments_visible
from carecall.payments.bodies import NoBody, PayerEmailBody, PaymentRequestBody
from carecall.payments.clinic_settings import payment_max_minor
from carecall.payments.gateway import PaymentGatewayError
from carecall.payments.models import PAID_STATUSES, PaymentRequest, PaymentStatus
from carecall.payments.receipts import payer_receipt_url
from carecall.payments.selectors import (
    connection_of,
    local_display,
    payment_info,
    payment_requests_of_payer,
    payment_requests_of_visit,
)
from carecall.payments.services.cancellation import payment_request_cancel
from carecall.payments.services.connection import (
    connection_complete,
    connection_remove,
    connection_start,
)
from carecall.payments.services.intents import payment_request_reconcile
from carecall.payments.services.requests import (
    payment_request_create,
    payment_request_for_payer,
    payment_request_overdue,
    payment_request_set_email,
)

OAUTH_SESSION_KEY = "carecall_stripe_oauth"
S = TypeVar("S", bound=BodySchema)


def unconfirmed_message() -> str:
    """What the payer is told when Stripe could not be asked after they paid (the payer's page
    template says the same when CareCall itself cannot be reached then)."""
    return _(
        "We could not confirm the payment yet. You will not be charged twice: we keep checking."
    )


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _info(pr: PaymentRequest) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(payment_info(pr))


def _error(message: str, status: int, field: str | None = None) -> JsonResponse:
    body: dict[str, Any] = {"error": message}
    if field:
        body["field"] = field
    return JsonResponse(body, status=status)


def _gateway_error(error: PaymentGatewayError) -> JsonResponse:
    if error.retryable:
        return _error(_("Stripe did not answer in time: nothing was charged. Try again."), 503)
    return _error(error.message, 400)


def _body(request: HttpRequest, schema: type[S]) -> S:
    """The request's JSON body as its declared schema (carecall/payments/bodies.py), or
    BodyError with the reason and the field."""
    try:
        raw = request.body
    except RequestDataTooBig:
        raise BodyError(_("The request body is too large.")) from None
    content_type = request.content_type or ""
    if content_type != "application/json" and not request.POST and not request.FILES:
        raw = b""  # a form post without fields (a bare POST) is a body without fields
    return json_body_decode(raw, content_type=content_type, schema=schema)


# ----------------------------------------------------------------- Configure > Customer payments


@login_required
@require_GET
def customer_payments(request: HttpRequest, clinic_id: int) -> HttpResponse:
    access = clinic_for_user(_user(request), clinic_id, roles=MANAGERS)
    clinic = access.clinic
    connection = connection_of(clinic.pk)
    response = render(
        request,
        "payments/customer_payments.html",
        {
            "clinic": clinic,
            "access": access,
            "enabled": clinic_app_is_enabled(clinic, AppKey.PAYMENT_GATEWAY),
            "connection": connection,
            "connected_at": local_display(clinic.timezone, connection.connected_at)
            if connection
            else "",
            "dashboard_url": stripe_dashboard.dashboard_base(),
        },
    )
    # Go to Stripe posts here and is redirected to Stripe's OAuth page: CSP's form-action
    # covers that redirect, so this page (only) allows Stripe Connect's origin.
    connect = urlsplit(settings.STRIPE_CONNECT_BASE)
    response._csp_update = {"form-action": [f"{connect.scheme}://{connect.netloc}"]}  # type: ignore[attr-defined]
    return response


@login_required
@require_POST
def connect_start(request: HttpRequest, clinic_id: int) -> HttpResponse:
    access = clinic_for_user(_user(request), clinic_id, roles=MANAGERS)
    redirect_uri = request.build_absolute_uri(reverse("payments:oauth_callback"))
    try:
        state, url = connection_start(
            actor=_user(request), clinic=access.clinic, redirect_uri=redirect_uri
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("payments:customer_payments", clinic_id=clinic_id)
    # Bound to this session and used once: the callback pops it.
    request.session[OAUTH_SESSION_KEY] = {"state": state, "clinic_id": access.clinic.pk}
    return redirect(url)


@login_required
@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(OAUTH_SESSION_KEY)
    state = request.GET.get("state", "")
    if not pending or not secrets.compare_digest(str(pending.get("state", "")), state):
        # A forged or stale callback does not spoil the admin's own connection in progress.
        messages.error(
            request,
            _(
                "That Stripe connection link is not valid any more (it was used, or it belongs "
                "to another session). Start again with Go to Stripe."
            ),
        )
        return redirect("orgs:home")
    del request.session[OAUTH_SESSION_KEY]  # used once
    clinic_id = int(pending["clinic_id"])
    access = clinic_for_user(_user(request), clinic_id, roles=MANAGERS)
    if request.GET.get("error"):
        messages.error(
            request,
            _("The Stripe account was not connected: %(reason)s")
            % {"reason": request.GET.get("error_description") or request.GET["error"]},
        )
        return redirect("payments:customer_payments", clinic_id=clinic_id)
    try:
        connection = connection_complete(
            actor=_user(request), clinic=access.clinic, code=request.GET.get("code", "")
        )
    except (ServiceError, PaymentGatewayError) as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Connected %(name)s (%(id)s). Clinicians can now request payments in calls.")
            % {"name": connection.account_name, "id": connection.account_id},
        )
    return redirect("payments:customer_payments", clinic_id=clinic_id)


@login_required
@require_POST
def connect_remove(request: HttpRequest, clinic_id: int) -> HttpResponse:
    access = clinic_for_user(_user(request), clinic_id, roles=MANAGERS)
    try:
        connection_remove(actor=_user(request), clinic=access.clinic)
    except (ServiceError, PaymentGatewayError) as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("The Stripe account was removed. Unpaid requests were cancelled.")
        )
    return redirect("payments:customer_payments", clinic_id=clinic_id)


# ----------------------------------------------------------------- the clinician's panel


def _staff_visit(request: HttpRequest, clinic_id: int, visit_id: str) -> tuple[ClinicAccess, Any]:
    access, visit = visit_for_staff(_user(request), visit_id)
    if visit.clinic_id != clinic_id:
        raise Http404
    return access, visit


@login_required
@require_http_methods(["GET", "POST"])
@json_errors
def visit_payments(request: HttpRequest, clinic_id: int, visit_id: str) -> JsonResponse:
    access, visit = _staff_visit(request, clinic_id, visit_id)
    if request.method == "POST":
        try:
            body = _body(request, PaymentRequestBody)
            pr = payment_request_create(
                actor=_user(request),
                visit=visit,
                amount_text=body.amount,
                description=body.description,
                payer_id=body.payer or None,
            )
        except BodyError as error:
            return _error(error.message, 400, error.field)
        except PermissionDenied as denied:
            return _error(str(denied), 403)
        except ServiceError as error:
            return _error(error.message, 400, error.field)
        except PaymentGatewayError as error:
            return _gateway_error(error)
        return JsonResponse({"request": _info(pr)}, status=201)
    clinic = visit.clinic
    connection = connection_of(clinic.pk)
    enabled = clinic_app_is_enabled(clinic, AppKey.PAYMENT_GATEWAY)
    payers = Participant.objects.filter(
        visit=visit, kind__in=[ParticipantKind.PATIENT, ParticipantKind.GUEST]
    ).exclude(kind=ParticipantKind.GUEST, claimed_at__isnull=True)
    currency = connection.default_currency if connection else clinic.currency
    return JsonResponse(
        {
            "enabled": enabled,
            "connected": connection is not None,
            "missing": (
                ""
                if enabled and connection
                else _(
                    "Ask a clinic admin to connect the clinic's Stripe account under "
                    "Configure > Customer payments."
                )
                if enabled
                else _("The Payment Gateway app is not enabled for this clinic.")
            ),
            "currency": currency,
            "decimals": CURRENCIES[currency].decimals if currency in CURRENCIES else 2,
            "maximum": (
                amount_to_major(payment_max_minor(clinic, currency=currency), currency)
                if currency in CURRENCIES
                else None
            ),
            "payers": [
                {"id": str(p.pk), "name": p.display_name, "kind": p.kind}
                for p in payers.order_by("created_at")
            ],
            # A clinician sees only the requests they made (payments/access.py).
            "requests": [
                _info(pr)
                for pr in payments_visible(
                    access, _user(request).pk, payment_requests_of_visit(visit)
                )
            ],
        }
    )


@login_required
@require_POST
@json_errors
def visit_payment_cancel(
    request: HttpRequest, clinic_id: int, visit_id: str, request_id: str
) -> JsonResponse:
    access, visit = _staff_visit(request, clinic_id, visit_id)
    pr = PaymentRequest.objects.filter(pk=request_id, visit=visit).first()
    if pr is None or not payment_is_visible(access, _user(request).pk, pr):
        return _error(_("No such payment request in this call."), 404)
    try:
        _body(request, NoBody)
    except BodyError as error:
        return _error(error.message, 400, error.field)
    try:
        pr = payment_request_cancel(actor=_user(request), payment_request=pr)
    except PermissionDenied as denied:
        return _error(str(denied), 403)
    except ServiceError as error:
        return _error(error.message, 409)
    except PaymentGatewayError as error:
        return _gateway_error(error)
    return JsonResponse({"request": _info(pr)})


# ----------------------------------------------------------------- the payer (patient or guest)


def _payer_limited(name: str, method: str) -> Any:
    """The payer's endpoints call Stripe: each counts on its own, per link and per address."""
    return rate_limited(
        f"payments.payer_{name}",
        [per_url_token("RATE_LIMIT_PAYER_PER_TOKEN"), per_address("RATE_LIMIT_PAYER_PER_ADDRESS")],
        message=gettext_lazy(
            "Too many tries in a short time, so nothing was done this time. "
            "Nothing was charged. Try again in %(wait)s."
        ),
        methods=[method],
        answer="json",
    )


def _complete_debounce(pr: PaymentRequest) -> str:
    return f"payments.payer_complete:{pr.pk}"


def _payer(request: HttpRequest, kind: str, token: str) -> Participant:
    if kind == "v":
        visit = visit_for_token(token)
        return Participant.objects.select_related("visit", "visit__clinic").get(
            visit=visit, kind=ParticipantKind.PATIENT
        )
    guest = guest_for_token(token, claimed_ids=request.session.get(GUEST_SESSION_KEY, []))
    if guest.claimed_at is None:
        raise Http404
    return guest


def payer_request_of(
    request: HttpRequest, kind: str, token: str, request_id: str
) -> PaymentRequest:
    """The payer's own request behind their link (also the receipt page's way in), or 404."""
    payer = _payer(request, kind, token)
    pr = (
        PaymentRequest.objects.select_related("clinic", "visit", "payer", "requested_by")
        .filter(pk=request_id, payer=payer)
        .first()
    )
    if pr is None:
        raise Http404  # someone else's request, or another visit's: it does not exist for you
    return pr


@require_GET
@json_errors
def payer_payments(request: HttpRequest, kind: str, token: str) -> JsonResponse:
    payer = _payer(request, kind, token)
    return JsonResponse(
        {
            "me": str(payer.pk),
            "requests": [
                _payer_info(pr, kind=kind, token=token) for pr in payment_requests_of_payer(payer)
            ],
        }
    )


@require_GET
@json_errors
@_payer_limited("pay", "GET")
def payer_payment(request: HttpRequest, kind: str, token: str, request_id: str) -> JsonResponse:
    pr = payer_request_of(request, kind, token, request_id)
    debounce_end(key=_complete_debounce(pr))  # a new try: its complete asks Stripe again
    try:
        pr = payment_request_for_payer(payment_request=pr)
    except ServiceError as error:
        shown = _info(pr)
        if payment_request_overdue(pr):
            # Shown as expired at once (the page drops Pay now); the reconcile job records it.
            shown.update(
                status=PaymentStatus.EXPIRED, status_label=str(PaymentStatus.EXPIRED.label)
            )
        return JsonResponse({"error": error.message, "request": shown}, status=409)
    return JsonResponse(
        {
            "request": _info(pr),
            "client_secret": pr.client_secret,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "stripe_account": pr.stripe_account_id,
            "receipt_email": pr.receipt_email,
        }
    )


@require_POST
@json_errors
@_payer_limited("email", "POST")
def payer_email(request: HttpRequest, kind: str, token: str, request_id: str) -> JsonResponse:
    pr = payer_request_of(request, kind, token, request_id)
    try:
        body = _body(request, PayerEmailBody)
    except BodyError as error:
        return _error(error.message, 400, error.field)
    debounce_end(key=_complete_debounce(pr))  # each Pay press saves the email first
    try:
        pr = payment_request_set_email(payment_request=pr, email=body.email)
    except ServiceError as error:
        return _error(error.message, 400 if error.field else 409, error.field)
    except PaymentGatewayError as error:
        return _gateway_error(error)
    return JsonResponse({"request": _info(pr)})


@require_POST
@json_errors
@_payer_limited("complete", "POST")
def payer_complete(request: HttpRequest, kind: str, token: str, request_id: str) -> JsonResponse:
    """The page says Stripe.js finished: ask Stripe (never the browser) what happened. Asked
    again within PAYER_COMPLETE_DEBOUNCE_SECONDS (and no new try since): the stored status."""
    pr = payer_request_of(request, kind, token, request_id)
    try:
        _body(request, NoBody)
    except BodyError as error:
        return _error(error.message, 400, error.field)
    if not debounce_begin(
        key=_complete_debounce(pr), seconds=settings.PAYER_COMPLETE_DEBOUNCE_SECONDS
    ):
        return JsonResponse({"request": _payer_info(pr, kind=kind, token=token)})
    try:
        pr = payment_request_reconcile(payment_request=pr)
    except PaymentGatewayError as error:
        debounce_end(key=_complete_debounce(pr))  # nothing was learnt: the next may ask
        if not error.retryable:
            return _error(error.message, 400)
        # The card may well have been charged: only the check failed. Say what is known (one
        # request has one intent, so it cannot be charged twice); the page keeps checking.
        response = JsonResponse({"error": unconfirmed_message(), "checking": True}, status=503)
        response["Retry-After"] = "5"
        return response
    except ServiceError as error:
        return _error(error.message, 409)
    return JsonResponse({"request": _payer_info(pr, kind=kind, token=token)})


def _payer_info(pr: PaymentRequest, *, kind: str, token: str) -> dict[str, Any]:
    """What the payer's page gets: the request, and once paid `receipt_url`, its printable
    receipt under the payer's own link (only on the payer's JSON: the call's `payment`
    message and the clinicians' JSON never carry a payer's link)."""
    info = _info(pr)
    if pr.status in PAID_STATUSES:
        info["receipt_url"] = payer_receipt_url(pr, kind=kind, token=token)
    return info


# ----------------------------------------------------------------- Stripe's webhook


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Verify, store once, acknowledge; the workers act on it (payments/webhooks.py). Served
    in production by the ASGI fast path (webhook_endpoint.py), which answers the same."""
    status, answer = webhooks.stripe_webhook_answer(
        payload=request.body, signature=request.headers.get("Stripe-Signature", "")
    )
    return JsonResponse(answer, status=status)
