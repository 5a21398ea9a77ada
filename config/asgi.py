"""ASGI entry point: Django for HTTP (Stripe's webhook URL answered in front of it, see
carecall/payments/webhook_endpoint.py), Channels for websockets."""

import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before anything imports models (the websocket routes do).
django_http = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from carecall.calls.origin import AllowedHostsOriginCloser  # noqa: E402
from carecall.calls.socket_session import LazySessionAuthMiddleware  # noqa: E402
from carecall.calls.web_process import WebProcessTaken, web_process_claim  # noqa: E402
from carecall.payments.webhook_endpoint import StripeWebhookEndpoint  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402

if settings.WEB_PROCESS_CLAIM:
    # Any server that loads this (carecall serve, a bare uvicorn): without Redis, one per
    # database, or live events would not reach the other process's sockets.
    try:
        web_process_claim()
    except WebProcessTaken as taken:
        sys.exit(f"CareCall: {taken}")

application = ProtocolTypeRouter(
    {
        "http": StripeWebhookEndpoint(django_http),
        "websocket": AllowedHostsOriginCloser(
            # Not Channels' AuthMiddlewareStack: two thread hops per connect (socket_session.py).
            LazySessionAuthMiddleware(URLRouter(websocket_urlpatterns))
        ),
    }
)
