"""JSON endpoints answer their refusals in JSON with a reason. Access helpers raise Http404 and
PermissionDenied (the pages' 404 and 403), which Django renders as HTML pages: a script
calling a JSON endpoint then reads an HTML page it cannot parse and shows nothing useful."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _


def json_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """404 and 403 raised by `view` (or the access helpers it calls) as JSON errors."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return JsonResponse({"error": _("Not found, or not yours to see.")}, status=404)
        except PermissionDenied as denied:
            reason = str(denied) or _("Your role does not allow this.")
            return JsonResponse({"error": reason}, status=403)

    return wrapped
