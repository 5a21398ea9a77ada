"""Apps: requesting the Payment Gateway (org and clinic admins) and the operator's queue."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carecall.accounts.models import User
from carecall.clinic_apps import selectors, services
from carecall.clinic_apps.forms import AppRequestForm, DecisionForm
from carecall.clinic_apps.models import AppKey, AppRequest, ClinicApp
from carecall.core.errors import ServiceError
from carecall.orgs.access import MANAGERS, clinic_for_user, operator_required, organisation_for_user
from carecall.orgs.models import Clinic, Organisation


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _apps_page(
    request: HttpRequest, organisation: Organisation, clinics: QuerySet[Clinic], back: str
) -> HttpResponse:
    form = AppRequestForm(request.POST or None, clinics=clinics)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.app_request_create(
                actor=_user(request),
                organisation=organisation,
                app=AppKey.PAYMENT_GATEWAY,
                clinics=list(data["clinics"]),
                manager_name=data["manager_name"],
                manager_email=data["manager_email"],
                manager_phone=data["manager_phone"],
                accept_terms=data["accept_terms"],
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Request sent. The CareCall service desk will review it."))
            return redirect(back)
    return render(
        request,
        "clinic_apps/apps.html",
        {
            "organisation": organisation,
            "rows": selectors.clinic_app_rows(list(clinics), AppKey.PAYMENT_GATEWAY),
            "form": form,
        },
        status=400 if form.is_bound else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_apps(request: HttpRequest, organisation_id: int) -> HttpResponse:
    organisation = organisation_for_user(_user(request), organisation_id)
    return _apps_page(request, organisation, organisation.clinics.order_by("name"), request.path)


@login_required
@require_http_methods(["GET", "POST"])
def clinic_apps(request: HttpRequest, clinic_id: int) -> HttpResponse:
    access = clinic_for_user(_user(request), clinic_id, roles=MANAGERS)
    clinics = Clinic.objects.filter(pk=access.clinic.pk)
    return _apps_page(request, access.clinic.organisation, clinics, request.path)


@login_required
@require_GET
def operator_queue(request: HttpRequest) -> HttpResponse:
    operator_required(_user(request))
    return render(
        request,
        "clinic_apps/operator_queue.html",
        {
            "pending": [
                (r, DecisionForm(prefix=f"r{r.pk}")) for r in selectors.app_requests_pending()
            ],
            "decided": selectors.app_requests_decided(),
            "enabled": selectors.enabled_clinic_apps(),
        },
    )


@login_required
@require_POST
def operator_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    operator_required(_user(request))
    app_request = AppRequest.objects.filter(pk=request_id).first()
    if app_request is None:
        raise Http404
    form = DecisionForm(request.POST, prefix=f"r{request_id}")
    approve = request.POST.get("decision") == "approve"
    if form.is_valid():
        try:
            services.app_request_decide(
                actor=_user(request),
                request=app_request,
                approve=approve,
                comment=form.cleaned_data["comment"],
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                (
                    _("Approved: the app is enabled for the request's clinics.")
                    if approve
                    else _("Declined.")
                ),
            )
    return redirect("clinic_apps:operator_queue")


@login_required
@require_POST
def operator_disable(request: HttpRequest, clinic_app_id: int) -> HttpResponse:
    operator_required(_user(request))
    clinic_app = ClinicApp.objects.select_related("clinic").filter(pk=clinic_app_id).first()
    if clinic_app is None:
        raise Http404
    services.clinic_app_disable(actor=_user(request), clinic_app=clinic_app)
    messages.success(request, _("Disabled for %(clinic)s.") % {"clinic": clinic_app.clinic.name})
    return redirect("clinic_apps:operator_queue")
