"""The webhook URL's ASGI fast path (`webhook_endpoint.py`): it answers what the Django view
answers — stored once, duplicates, malformed bodies, bad signatures — without Django's request
handling and middlewares, and hands every other path to Django unchanged."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application

from carecall.payments.models import StripeEvent
from carecall.payments.tests.helpers import signature_for
from carecall.payments.webhook_endpoint import StripeWebhookEndpoint

PATH = "/payments/stripe/webhook/"


@pytest.fixture
def endpoint() -> Iterator[StripeWebhookEndpoint]:
    endpoint = StripeWebhookEndpoint(get_asgi_application())
    yield endpoint
    # The writer thread's own connection (PostgreSQL could not drop the test database).
    endpoint.writer.close_connection()


def _call(
    app: Any, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[bytes, bytes], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")]
        + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }

    async def run() -> tuple[int, dict[bytes, bytes], bytes]:
        communicator = ApplicationCommunicator(app, scope)
        await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
        start = await communicator.receive_output(10)
        content = b""
        while True:
            message = await communicator.receive_output(10)
            content += message.get("body", b"")
            if not message.get("more_body"):
                break
        await communicator.wait(10)
        return start["status"], {k.lower(): v for k, v in start["headers"]}, content

    return async_to_sync(run)()


def _body(event_id: str) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "payment_intent.succeeded",
            "account": "acct_1HarbourGPxx",
            "created": int(time.time()),
            "data": {"object": {"id": "pi_elsewhere", "object": "payment_intent"}},
        }
    ).encode()


def _post(endpoint: StripeWebhookEndpoint, body: bytes, signature: str | None = None) -> Any:
    headers = {"Stripe-Signature": signature_for(body) if signature is None else signature}
    return _call(endpoint, "POST", PATH, body, {"Content-Type": "application/json", **headers})


@pytest.mark.django_db(transaction=True)
def test_the_fast_path_stores_the_event_once_and_answers_as_the_view_does(
    endpoint: StripeWebhookEndpoint,
) -> None:
    body = _body("evt_fast")

    status, headers, content = _post(endpoint, body)
    again_status, _again_headers, again = _post(endpoint, body)

    assert (status, json.loads(content)) == (200, {"received": True, "duplicate": False})
    assert (again_status, json.loads(again)) == (200, {"received": True, "duplicate": True})
    assert headers[b"content-type"] == b"application/json"
    # Django's middlewares did not run: no session, CSRF or CSP work for a server's POST.
    assert b"set-cookie" not in headers and b"content-security-policy" not in headers
    row = StripeEvent.objects.get()
    assert (row.event_id, row.body, row.processed_at) == ("evt_fast", body.decode(), None)


@pytest.mark.django_db(transaction=True)
def test_the_fast_path_refuses_bad_signatures_malformed_bodies_other_methods_and_huge_bodies(
    endpoint: StripeWebhookEndpoint, settings: Any
) -> None:
    body = _body("evt_refused")
    bad_status, _h, bad = _post(endpoint, body, signature_for(body, secret="whsec_other"))
    list_body = b"[1, 2]"
    malformed_status, _h, malformed = _post(endpoint, list_body)
    get_status, get_headers, _get = _call(endpoint, "GET", PATH)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = StripeWebhookEndpoint(endpoint.app)
    huge_status, _h, _huge = _post(big, b"{" + b" " * 5000 + b"}")
    big.writer.close_connection()

    assert bad_status == 400 and "bad webhook" in json.loads(bad)["error"]
    assert malformed_status == 400 and "not a JSON object" in json.loads(malformed)["error"]
    assert (get_status, get_headers[b"allow"]) == (405, b"POST")
    assert huge_status == 413
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_every_other_path_goes_through_django_and_its_middlewares(
    endpoint: StripeWebhookEndpoint,
) -> None:
    status, headers, _content = _call(endpoint, "GET", "/accounts/sign-in/")
    near_status, _h, _near = _call(endpoint, "POST", PATH + "x", b"{}")

    assert status == 200 and b"content-security-policy" in headers
    assert near_status in (403, 404)  # Django's answer (CSRF or no such page), not the fast path


def test_the_deployed_asgi_application_serves_http_through_the_fast_path() -> None:
    from config.asgi import application

    assert isinstance(application.application_mapping["http"], StripeWebhookEndpoint)


@pytest.mark.django_db(transaction=True)
def test_requests_arriving_together_are_each_answered_and_stored(
    endpoint: StripeWebhookEndpoint,
) -> None:
    bodies = [_body(f"evt_together_{n}") for n in range(30)] + [_body("evt_together_0")]

    async def all_at_once() -> list[tuple[int, bytes]]:
        import asyncio

        from asgiref.sync import sync_to_async

        def one(body: bytes) -> tuple[int, bytes]:
            status, _headers, content = _post(endpoint, body)
            return status, content

        return list(
            await asyncio.gather(
                *(sync_to_async(one, thread_sensitive=False)(body) for body in bodies)
            )
        )

    answers = async_to_sync(all_at_once)()

    assert [status for status, _content in answers] == [200] * 31
    duplicates = sorted(json.loads(content)["duplicate"] for _status, content in answers)
    assert duplicates == [False] * 30 + [True]
    assert StripeEvent.objects.count() == 30


def test_a_batch_stores_in_one_transaction_and_one_bad_event_does_not_refuse_the_others(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import DataError

    from carecall.payments import webhooks
    from carecall.payments.webhook_body import webhook_event_parse

    events = [webhook_event_parse(_body(f"evt_batch_{n}").decode()) for n in range(4)]
    real_insert = webhooks._inbox_insert

    def insert(row: StripeEvent) -> bool:
        if row.event_id == "evt_batch_2":
            raise DataError("value the database refuses")
        return real_insert(row)

    monkeypatch.setattr(webhooks, "_inbox_insert", insert)
    answers = webhooks.stripe_webhook_store_answers(events=events)

    assert [status for status, _answer in answers] == [200] * 4
    assert answers[2][1]["received"] is False
    assert [a["duplicate"] for i, (_s, a) in enumerate(answers) if i != 2] == [False] * 3
    stored = set(StripeEvent.objects.values_list("event_id", flat=True))
    assert stored == {"evt_batch_0", "evt_batch_1", "evt_batch_3"}
