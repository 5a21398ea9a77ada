"""A small HTTP server that records the webhooks the sandbox delivers, so tests can replay real
deliveries into our endpoint (and tamper with them)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """One webhook exactly as the sandbox sent it."""

    body: bytes
    signature: str

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class WebhookRecorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with recorder._lock:
                    recorder._deliveries.append(
                        Delivery(body, self.headers.get("Stripe-Signature", ""))
                    )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def of(self, event_type: str, object_id: str | None = None) -> list[Delivery]:
        with self._lock:
            found = [d for d in self._deliveries if d.event["type"] == event_type]
        if object_id is not None:
            found = [d for d in found if d.event["data"]["object"].get("id") == object_id]
        return found

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
