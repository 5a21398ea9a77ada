"""After the call: the payments list, a payment's detail (refunds, resend receipt), reports, CSV.

Clinic admins see their clinic; org admins every clinic of the organisation; clinicians only
the requests they made (and no reports).
"""

from __future__ import annotations

import dataclasses
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from carecall.accounts.models import User
from carecall.audit.models import AuditEntry
from carecall.core.currencies import amount_format, currency_for
from carecall.core.errors import ServiceError
from carecall.orgs.access import clinic_for_user, organisation_for_user
from carecall.orgs.models import Clinic, Membership, Organisation
from carecall.payments import stripe_dashboard
from carecall.payments.access import payment_is_visible, payments_requested_by_only
from carecall.payments.forms import RefundForm
from carecall.payments.gateway import PaymentGatewayError
from carecall.payments.models import PaymentRequest, PaymentStatus, RefundReason, RefundStatus
from carecall.payments.reports import (
    PAGE_SIZE,
    FilterResult,
    csv_export_stream,
    filters_parse,
    payments_query,
    report_build,
)
from carecall.payments.selectors import card_brand_display, local_display
from carecall.payments.services.receipt_email import receipt_resend
from carecall.payments.services.refunds import refund_create, refundable_amount


def dashboard_url(pr: PaymentRequest) -> str:
    """The payment in the connected account's Stripe dashboard."""
    if not pr.payment_intent_id:
        return ""
    return stripe_dashboard.payment_url(pr.stripe_account_id, pr.payment_intent_id)


def status_text(pr: PaymentRequest) -> str:
    """The status as a person would write it: "Cancelled by Dr Chris Lee" rather than
    "Cancelled (Cancelled by Dr Chris Lee.)"; another reason follows the status once."""
    label = str(pr.get_status_display())
    reason = pr.cancel_reason.strip().rstrip(".")
    if pr.status != PaymentStatus.CANCELLED or not reason:
        return label
    if reason.lower().startswith(label.lower()):
        return reason
    return _("%(status)s: %(reason)s") % {"status": label, "reason": reason}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@dataclass(frozen=True)
class Scope:
    organisation: Organisation
    clinics: list[Clinic]
    clinic: Clinic | None  # None: all clinics of the organisation
    can_manage: bool
    only_mine: bool

    def url_args(self) -> list[int]:
        return [self.clinic.pk] if self.clinic else [self.organisation.pk]

    @property
    def prefix(self) -> str:
        return "clinic" if self.clinic else "org"


def _clinic_scope(request: HttpRequest, clinic_id: int) -> Scope:
    access = clinic_for_user(_user(request), clinic_id)
    return Scope(
        organisation=access.clinic.organisation,
        clinics=[access.clinic],
        clinic=access.clinic,
        can_manage=access.can_manage,
        only_mine=payments_requested_by_only(access, _user(request).pk) is not None,
    )


def _org_scope(request: HttpRequest, organisation_id: int) -> Scope:
    organisation = organisation_for_user(_user(request), organisation_id)
    return Scope(
        organisation=organisation,
        clinics=list(organisation.clinics.order_by("name")),
        clinic=None,
        can_manage=True,
        only_mine=False,
    )


def _filters(request: HttpRequest, scope: Scope) -> FilterResult:
    return filters_parse(
        request.GET.dict(),
        clinics=scope.clinics,
        only_requested_by=_user(request).pk if scope.only_mine else None,
    )


def _clinicians(scope: Scope) -> list[User]:
    ids = Membership.objects.filter(clinic__in=scope.clinics).values_list("user_id", flat=True)
    return list(User.objects.filter(pk__in=ids).order_by("full_name"))


def _list(request: HttpRequest, scope: Scope) -> HttpResponse:
    result = _filters(request, scope)
    rows = payments_query(result.filters) if not result.errors else PaymentRequest.objects.none()
    page = Paginator(rows, PAGE_SIZE).get_page(result.page)
    entries = [
        {
            "pr": pr,
            "amount": amount_format(pr.amount, pr.currency),
            "status": status_text(pr),
            "refunded": amount_format(pr.amount_refunded, pr.currency)
            if pr.amount_refunded
            else "",
            "when": local_display(pr.clinic.timezone, pr.created_at),
            "card": f"{card_brand_display(pr.card_brand)} •••• {pr.card_last4}"
            if pr.card_last4
            else "",
            "dashboard": dashboard_url(pr),
        }
        for pr in page
    ]
    return render(
        request,
        "payments/records/list.html",
        {
            "scope": scope,
            "page": page,
            "entries": entries,
            "errors": result.errors,
            "f": result.filters,
            "statuses": PaymentStatus.choices,
            "clinicians": _clinicians(scope),
        },
        status=400 if result.errors else 200,
    )


@login_required
@require_GET
def clinic_payments(request: HttpRequest, clinic_id: int) -> HttpResponse:
    return _list(request, _clinic_scope(request, clinic_id))


@login_required
@require_GET
def organisation_payments(request: HttpRequest, organisation_id: int) -> HttpResponse:
    return _list(request, _org_scope(request, organisation_id))


def _csv(request: HttpRequest, scope: Scope) -> HttpResponseBase:
    result = _filters(request, scope)
    if result.errors:
        return HttpResponse(
            " ".join(result.errors), status=400, content_type="text/plain; charset=utf-8"
        )
    response = StreamingHttpResponse(
        csv_export_stream(
            payments_query(result.filters).aiterator(chunk_size=2000),
            timezone=result.filters.timezone,
        ),
        content_type="text/csv; charset=utf-8",
    )
    name = (scope.clinic or scope.organisation).name
    safe = "".join(c if c.isalnum() else "-" for c in name).strip("-").lower()
    response["Content-Disposition"] = f'attachment; filename="payments-{safe}.csv"'
    return response


@login_required
@require_GET
def clinic_payments_csv(request: HttpRequest, clinic_id: int) -> HttpResponseBase:
    return _csv(request, _clinic_scope(request, clinic_id))


@login_required
@require_GET
def organisation_payments_csv(request: HttpRequest, organisation_id: int) -> HttpResponseBase:
    return _csv(request, _org_scope(request, organisation_id))


def _report(request: HttpRequest, scope: Scope) -> HttpResponse:
    if not scope.can_manage:
        raise PermissionDenied(_("Reports are for clinic admins and organisation admins."))
    result = _filters(request, scope)
    if not (request.GET.get("from") or request.GET.get("to")):
        # A report is for a period: the last 30 days (in the report's zone) unless chosen.
        today = timezone.localdate(timezone=zoneinfo.ZoneInfo(result.filters.timezone))
        result.filters = dataclasses.replace(
            result.filters, date_from=today - timedelta(days=29), date_to=today
        )
    # An organisation without clinics has nothing to report: the page says so instead.
    report = report_build(result.filters) if scope.clinics and not result.errors else None
    # A report is about money taken: status and text search (list filters) do not apply to it.
    # Said on the page rather than silently dropped, so a link from the list cannot mislead.
    not_applied = [
        label
        for name, label in (("status", _("status")), ("q", _("text search")))
        if request.GET.get(name, "").strip()
    ]
    return render(
        request,
        "payments/records/report.html",
        {
            "scope": scope,
            "report": report,
            "errors": result.errors,
            "f": result.filters,
            "clinicians": _clinicians(scope),
            "not_applied": not_applied,
        },
        status=400 if result.errors else 200,
    )


@login_required
@require_GET
def clinic_report(request: HttpRequest, clinic_id: int) -> HttpResponse:
    return _report(request, _clinic_scope(request, clinic_id))


@login_required
@require_GET
def organisation_report(request: HttpRequest, organisation_id: int) -> HttpResponse:
    return _report(request, _org_scope(request, organisation_id))


def _payment(request: HttpRequest, clinic_id: int, payment_id: str) -> tuple[Scope, PaymentRequest]:
    scope = _clinic_scope(request, clinic_id)
    pr = (
        PaymentRequest.objects.select_related("clinic", "visit", "payer", "requested_by")
        .filter(pk=payment_id, clinic=scope.clinic)
        .first()
    )
    if pr is None:
        raise Http404
    access = clinic_for_user(_user(request), clinic_id)
    if not payment_is_visible(access, _user(request).pk, pr):
        raise PermissionDenied(_("Clinicians see only the payments they requested."))
    return scope, pr


def _timeline(pr: PaymentRequest) -> list[dict[str, Any]]:
    entries = AuditEntry.objects.filter(target=f"payment:{pr.pk}").order_by("at", "id")
    moments: list[tuple[datetime, str, str]] = [(e.at, e.actor_label, e.summary) for e in entries]
    if pr.receipt_sent_at:
        what = _("Receipt sent to %(email)s") % {"email": pr.receipt_email}
        moments.append((pr.receipt_sent_at, "CareCall", what))
    moments.sort(key=lambda m: m[0])  # by the moment, not by its text ("10:00" < "9:00")
    return [
        {"when": local_display(pr.clinic.timezone, at), "who": who, "what": what}
        for at, who, what in moments
    ]


@login_required
@require_GET
def payment_detail(request: HttpRequest, clinic_id: int, payment_id: str) -> HttpResponse:
    scope, pr = _payment(request, clinic_id, payment_id)
    return _detail(request, scope, pr)


def _detail(
    request: HttpRequest,
    scope: Scope,
    pr: PaymentRequest,
    *,
    form_error: str = "",
    status: int = 200,
    form_token: str = "",
    amount_typed: str = "",
) -> HttpResponse:
    left = refundable_amount(pr)
    return render(
        request,
        "payments/records/detail.html",
        {
            "scope": scope,
            "pr": pr,
            "amount": amount_format(pr.amount, pr.currency),
            "status": status_text(pr),
            "refunded": amount_format(pr.amount_refunded, pr.currency),
            "left": amount_format(left, pr.currency),
            # The question before a refund shows the typed amount with the currency's decimals.
            "refund_decimals": currency_for(pr.currency).shown_decimals,
            # Only what the person typed comes back after a refused refund; never a default.
            "amount_typed": amount_typed,
            "can_refund": scope.can_manage
            and left > 0
            and pr.status in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED),
            "reasons": RefundReason.choices,
            # After a lost answer the same token goes back in the form, so pressing Refund
            # again reaches Stripe with the same idempotency key instead of refunding twice.
            "form_token": form_token or secrets.token_urlsafe(24),
            "form_error": form_error,
            "timeline": _timeline(pr),
            "refunds": [
                {
                    "refund": r,
                    "amount": amount_format(r.amount, pr.currency),
                    "when": local_display(pr.clinic.timezone, r.created_at),
                }
                for r in pr.refunds.select_related("requested_by")
            ],
            "when": local_display(pr.clinic.timezone, pr.created_at),
            "paid_when": local_display(pr.clinic.timezone, pr.paid_at),
            "card": f"{card_brand_display(pr.card_brand)} •••• {pr.card_last4}"
            if pr.card_last4
            else "",
            "dashboard": dashboard_url(pr),
        },
        status=status,
    )


@login_required
@require_POST
def payment_refund(request: HttpRequest, clinic_id: int, payment_id: str) -> HttpResponse:
    scope, pr = _payment(request, clinic_id, payment_id)
    if not scope.can_manage:
        raise PermissionDenied(_("Only clinic admins and organisation admins can refund."))
    form = RefundForm(request.POST)
    if not form.is_valid():
        return _detail(request, scope, pr, form_error=form.first_error(), status=400)
    typed = form.cleaned_data
    try:
        refund = refund_create(
            actor=_user(request),
            payment_request=pr,
            amount_text=typed["amount"],
            reason=typed["reason"],
            note=typed["note"],
            form_token=typed["form_token"],
        )
    except ServiceError as error:
        pr.refresh_from_db()
        return _detail(
            request,
            scope,
            pr,
            form_error=error.message,
            status=400,
            amount_typed=typed["amount"][:40],
        )
    except PaymentGatewayError as error:
        pr.refresh_from_db()
        message = (
            _(
                "Stripe did not answer, so the refund may or may not have gone through. "
                "Press Refund again: it will not refund twice."
            )
            if error.retryable
            else error.message
        )
        return _detail(
            request,
            scope,
            pr,
            form_error=message,
            status=503 if error.retryable else 400,
            form_token=typed["form_token"] if error.retryable else "",
            amount_typed=typed["amount"][:40] if error.retryable else "",
        )
    amount = amount_format(refund.amount, pr.currency)
    if refund.status == RefundStatus.SUCCEEDED:
        said = _("Refunded %(amount)s.") % {"amount": amount}
    else:
        said = _("Refund of %(amount)s sent to Stripe, which says it is %(status)s.") % {
            "amount": amount,
            "status": refund.get_status_display().lower(),
        }
    messages.success(request, said)
    return redirect("payments:payment_detail", clinic_id=clinic_id, payment_id=pr.pk)


@login_required
@require_POST
def payment_resend_receipt(request: HttpRequest, clinic_id: int, payment_id: str) -> HttpResponse:
    scope, pr = _payment(request, clinic_id, payment_id)
    if not scope.can_manage:
        raise PermissionDenied(_("Only clinic admins and organisation admins can resend receipts."))
    try:
        receipt_resend(actor=_user(request), payment_request=pr)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Receipt sent again to %(email)s.") % {"email": pr.receipt_email}
        )
    return redirect("payments:payment_detail", clinic_id=clinic_id, payment_id=pr.pk)
