"""Websocket routes. Each app adds its consumers here (the call signalling comes with issue 4)."""

from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []
