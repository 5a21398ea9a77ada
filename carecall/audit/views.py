from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from carecall.accounts.models import User
from carecall.audit.actions import audit_action_choices, audit_action_is_registered
from carecall.audit.models import AuditEntry
from carecall.orgs.access import operator_required, organisation_for_user


def _page(
    request: HttpRequest, entries: QuerySet[AuditEntry], context: dict[str, object]
) -> HttpResponse:
    action = request.GET.get("action", "")
    if audit_action_is_registered(action):
        entries = entries.filter(action=action)
    else:
        action = ""
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/entries.html",
        {**context, "page": page, "actions": audit_action_choices(), "action": action},
    )


@login_required
@require_GET
def organisation_audit(request: HttpRequest, organisation_id: int) -> HttpResponse:
    organisation = organisation_for_user(cast(User, request.user), organisation_id)
    entries = AuditEntry.objects.filter(organisation=organisation).select_related("clinic")
    return _page(request, entries, {"organisation": organisation})


@login_required
@require_GET
def operator_audit(request: HttpRequest) -> HttpResponse:
    operator_required(cast(User, request.user))
    entries = AuditEntry.objects.select_related("clinic", "organisation")
    return _page(request, entries, {"organisation": None})
