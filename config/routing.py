"""Websocket routes. Pages build their websocket URLs with `ws_reverse(name, *args)`."""

from django.urls import URLPattern, URLResolver, path, re_path, reverse

from carecall.calls.consumers import CallConsumer, UnknownPathConsumer, WaitingAreaConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "ws/clinics/<int:clinic_id>/waiting-area/",
        WaitingAreaConsumer.as_asgi(),
        name="ws-waiting-area",
    ),
    path("ws/calls/<uuid:visit_id>/", CallConsumer.as_asgi(), name="ws-staff"),
    path("ws/visits/<str:patient_token>/", CallConsumer.as_asgi(), name="ws-patient"),
    path("ws/guests/<str:guest_token>/", CallConsumer.as_asgi(), name="ws-guest"),
    # Last: every other path (and a malformed id) closes with 4404 instead of a 500.
    re_path(r"", UnknownPathConsumer.as_asgi()),
]

urlpatterns = websocket_urlpatterns  # lets this module serve as a urlconf for ws_reverse


def ws_reverse(name: str, *args: object) -> str:
    return reverse(name, urlconf="config.routing", args=args)
