"""Pages are not kept by browsers or proxies: every answer of CareCall's own views that says
nothing about caching gets `Cache-Control: no-store` (payment details, CSV exports, the payer's
JSON, patients' pages, every signed-in page hold personal or payment data; a shared computer's
back button or a proxy must not serve them again). Static files (WhiteNoise answers them before
this middleware) and views that choose their own caching (the JavaScript catalogue) keep theirs."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response
