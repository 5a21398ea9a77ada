"""Websocket routes: each app's (calls' in carecall/calls/routing.py, with its `ws_reverse`),
then a catch-all."""

from django.urls import URLPattern, URLResolver, re_path

from carecall.calls import routing as calls_routing
from carecall.calls.consumers import UnknownPathConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    *calls_routing.websocket_urlpatterns,
    # Last: every other path (and a malformed id) closes with 4404 instead of a 500.
    re_path(r"", UnknownPathConsumer.as_asgi()),
]

urlpatterns = websocket_urlpatterns  # reversible as a urlconf, as the deployed router sees it
