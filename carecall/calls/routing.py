"""calls' websocket routes, served at the root by config.routing. Pages build their websocket
URLs with `ws_reverse(name, *args)`, so calls never imports the project's configuration."""

from django.urls import URLPattern, URLResolver, path, reverse

from carecall.calls.consumers import CallConsumer, WaitingAreaConsumer

# Ids through core's `<id:...>` converter, as on the HTTP side: a number beyond what the
# database holds matches no route, so the catch-all closes 4404 (with `<int:...>` the lookup
# failed with an overflow and the handshake crashed).
websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "ws/clinics/<id:clinic_id>/waiting-area/",
        WaitingAreaConsumer.as_asgi(),
        name="ws-waiting-area",
    ),
    path("ws/calls/<uuid:visit_id>/", CallConsumer.as_asgi(), name="ws-staff"),
    path("ws/visits/<str:patient_token>/", CallConsumer.as_asgi(), name="ws-patient"),
    path("ws/guests/<str:guest_token>/", CallConsumer.as_asgi(), name="ws-guest"),
]

urlpatterns = websocket_urlpatterns  # lets this module serve as a urlconf for ws_reverse


def ws_reverse(name: str, *args: object) -> str:
    return reverse(name, urlconf="carecall.calls.routing", args=args)
