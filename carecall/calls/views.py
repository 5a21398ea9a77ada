"""Pages of the waiting area and the call: patients (by link), guests (by link) and staff."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carecall.accounts.models import User
from carecall.calls import services
from carecall.calls.access import (
    GUEST_SESSION_KEY,
    guest_for_token,
    patient_of,
    visit_for_staff,
    visit_for_token,
)
from carecall.calls.call_apps import CallPage, call_page_assets
from carecall.calls.forms import EntryForm, GuestJoinForm, WaitingAreaSettingsForm
from carecall.calls.models import Participant, VisitStatus
from carecall.calls.routing import ws_reverse
from carecall.calls.waiting_area import WEEKDAYS, OpeningHours, WaitingAreaSettings
from carecall.core.errors import ServiceError
from carecall.core.ratelimit import per_address, rate_limited
from carecall.orgs.access import MANAGERS, clinic_for_user
from carecall.orgs.models import Clinic


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _call_context(
    *, page: CallPage, ws_path: str, role: str, leave_url: str, name: str
) -> dict[str, object]:
    return {
        "ws_path": ws_path,
        "call_role": role,
        "leave_url": leave_url,
        "display_name": name,
        "assets": call_page_assets(page),
        # window.carecallCall for the browser tests (settings_test); never in production.
        "test_hooks": settings.CALL_TEST_HOOKS,
    }


def _render_call(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    response = render(request, template, context, status=status)
    assets = context["assets"]
    if assets.csp:
        # What the clinic's in-call apps need (Stripe.js for payments); this page only.
        response._csp_update = assets.csp  # type: ignore[attr-defined]
    return response


@require_http_methods(["GET", "POST"])
@rate_limited(
    "calls.entry",
    [per_address("RATE_LIMIT_ENTRY_PER_ADDRESS")],
    message=gettext_lazy(
        "Many visits were started from your connection in the last few minutes, so no new one "
        "was started. If you have already entered, go back to your visit's page. Otherwise "
        "try again in %(wait)s."
    ),
)
def entry(request: HttpRequest, slug: str) -> HttpResponse:
    """The clinic's public link: details, terms, camera and microphone check, then wait."""
    clinic = get_object_or_404(Clinic, slug=slug)
    area = WaitingAreaSettings.for_clinic(clinic)
    if not area.is_open(clinic):
        return render(
            request,
            "calls/closed.html",
            {"clinic": clinic, "area": area, "weekdays": dict(WEEKDAYS)},
        )
    form = EntryForm(request.POST or None, settings=area)
    if request.method == "POST" and form.is_valid():
        try:
            _visit, token = services.visit_create(
                clinic=clinic,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                phone=form.cleaned_data["phone"],
                accepted_terms=form.cleaned_data["accept_terms"],
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return redirect("calls:visit", token=token)
    return render(
        request,
        "calls/entry.html",
        {"clinic": clinic, "area": area, "form": form},
        status=400 if form.is_bound else 200,
    )


@require_GET
def visit(request: HttpRequest, token: str) -> HttpResponse:
    """The patient's own page: waiting, then the call. The link is their only key."""
    v = visit_for_token(token)
    if v.status == VisitStatus.DONE:
        # Apps may still have something for the patient here (an unpaid request stays payable).
        page = CallPage(clinic=v.clinic, visit_id=str(v.pk), link_kind="v", link_token=token)
        ended = {"clinic": v.clinic, "assets": call_page_assets(page)}
        return _render_call(request, "calls/ended.html", ended, status=410)
    area = WaitingAreaSettings.for_clinic(v.clinic)
    patient = patient_of(v)
    context = _call_context(
        page=CallPage(clinic=v.clinic, visit_id=str(v.pk), link_kind="v", link_token=token),
        ws_path=ws_reverse("ws-patient", token),
        role="patient",
        leave_url=reverse("calls:visit_leave", args=[token]),
        name=v.display_name,
    )
    # A patient who stepped out sees "You left the call" and a Rejoin; nothing connects
    # (and nothing is written) until they choose it.
    context["patient_left"] = patient.left_at is not None
    return _render_call(
        request, "calls/visit.html", {"visit": v, "clinic": v.clinic, "area": area, **context}
    )


@require_POST
def visit_leave(request: HttpRequest, token: str) -> HttpResponse:
    """The patient's Leave without the live page: step out, then their page says how to
    come back."""
    v = visit_for_token(token)
    services.visit_leave_by_patient(visit=v)
    return redirect("calls:visit", token=token)


@login_required
@require_GET
def waiting_area(request: HttpRequest, clinic_id: int) -> HttpResponse:
    access = clinic_for_user(_user(request), clinic_id)
    area = WaitingAreaSettings.for_clinic(access.clinic)
    return render(
        request,
        "calls/waiting_area.html",
        {
            "access": access,
            "clinic": access.clinic,
            "area": area,
            "is_open": area.is_open(access.clinic),
            "entry_url": request.build_absolute_uri(
                reverse("calls:entry", args=[access.clinic.slug])
            ),
            "ws_path": ws_reverse("ws-waiting-area", access.clinic.pk),
        },
    )


@login_required
@require_POST
def join(request: HttpRequest, clinic_id: int, visit_id: str) -> HttpResponse:
    _access, v = visit_for_staff(_user(request), visit_id)
    if v.clinic_id != clinic_id:
        return HttpResponse(status=404)
    try:
        services.visit_join(actor=_user(request), visit=v)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("calls:waiting_area", clinic_id=clinic_id)
    return redirect("calls:call", clinic_id=clinic_id, visit_id=v.pk)


@login_required
@require_GET
def call(request: HttpRequest, clinic_id: int, visit_id: str) -> HttpResponse:
    access, v = visit_for_staff(_user(request), visit_id)
    if v.clinic_id != clinic_id:
        return HttpResponse(status=404)
    present = Participant.objects.filter(
        visit=v, user=_user(request), joined_at__isnull=False, left_at__isnull=True
    ).exists()
    if v.status == VisitStatus.DONE or not present:
        messages.info(request, _("That call has ended, or you have not joined it."))
        return redirect("calls:waiting_area", clinic_id=clinic_id)
    context = _call_context(
        page=CallPage(clinic=access.clinic, visit_id=str(v.pk)),
        ws_path=ws_reverse("ws-staff", v.pk),
        role="clinician",
        leave_url=reverse("calls:waiting_area", args=[clinic_id]),
        name=_user(request).get_full_name(),
    )
    return _render_call(
        request, "calls/call.html", {"visit": v, "clinic": access.clinic, **context}
    )


@require_http_methods(["GET", "POST"])
def guest(request: HttpRequest, token: str) -> HttpResponse:
    """A carer's or interpreter's single-use link into a call."""
    claims: list[str] = request.session.get(GUEST_SESSION_KEY, [])
    g = guest_for_token(token, claimed_ids=claims)
    if g.visit.status == VisitStatus.DONE or g.left_at is not None:
        return render(request, "calls/ended.html", {"clinic": g.visit.clinic}, status=410)
    if g.claimed_at is None:
        form = GuestJoinForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                g = services.guest_claim(guest=g, display_name=form.cleaned_data["display_name"])
            except ServiceError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                request.session[GUEST_SESSION_KEY] = [*claims, str(g.pk)]
                return redirect("calls:guest", token=token)
        return render(
            request,
            "calls/guest_join.html",
            {"clinic": g.visit.clinic, "form": form},
            status=400 if form.is_bound else 200,
        )
    context = _call_context(
        page=CallPage(
            clinic=g.visit.clinic, visit_id=str(g.visit_id), link_kind="j", link_token=token
        ),
        ws_path=ws_reverse("ws-guest", token),
        role="guest",
        leave_url="",
        name=g.display_name,
    )
    return _render_call(request, "calls/guest.html", {"clinic": g.visit.clinic, **context})


@login_required
@require_http_methods(["GET", "POST"])
def waiting_area_settings(request: HttpRequest, clinic_id: int) -> HttpResponse:
    access = clinic_for_user(_user(request), clinic_id, roles=MANAGERS)
    clinic = access.clinic
    current = WaitingAreaSettings.for_clinic(clinic)
    initial: dict[str, object] = {
        "is_on": current.is_on,
        "message": current.message,
        "terms": current.terms,
        "require_first_name": current.require_first_name,
        "require_last_name": current.require_last_name,
        "require_phone": current.require_phone,
    }
    for h in current.hours:
        initial[f"opens_{h.weekday}"] = h.opens
        initial[f"closes_{h.weekday}"] = h.closes
    form = WaitingAreaSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        hours = []
        for day, name in WEEKDAYS:
            opens, closes = data[f"opens_{day}"].strip(), data[f"closes_{day}"].strip()
            if opens or closes:
                if not (opens and closes):
                    form.add_error(
                        f"opens_{day}",
                        _("Give both times for %(day)s, or neither.") % {"day": name},
                    )
                    continue
                hours.append(OpeningHours(weekday=day, opens=opens, closes=closes))
        if form.is_valid():
            new = WaitingAreaSettings(
                is_on=data["is_on"],
                message=data["message"].strip(),
                terms=data["terms"].strip(),
                require_first_name=data["require_first_name"],
                require_last_name=data["require_last_name"],
                require_phone=data["require_phone"],
                hours=tuple(hours),
            )
            try:
                services.waiting_area_update(actor=_user(request), clinic=clinic, settings=new)
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Waiting area settings saved."))
                return redirect("calls:waiting_area", clinic_id=clinic.pk)
    return render(
        request,
        "calls/waiting_area_settings.html",
        {
            "clinic": clinic,
            "form": form,
            "entry_url": request.build_absolute_uri(reverse("calls:entry", args=[clinic.slug])),
            "site_url": settings.SITE_URL,
        },
        status=400 if form.is_bound else 200,
    )
