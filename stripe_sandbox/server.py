"""HTTP front of the sandbox (stdlib ThreadingHTTPServer on 127.0.0.1) and `start()`."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from . import control, dashboard, oauth
from .errors import OAuthError
from .faults import FaultSettings
from .sandbox import EndpointConfig, Reply, Sandbox
from .state import PLATFORM_ACCOUNT_ID, Obj, publishable_key_for

HOST = "127.0.0.1"
SHIM = Path(__file__).resolve().parent / "shim" / "stripe.js"
ELEMENTS = Path(__file__).resolve().parent / "shim" / "elements"
# The frames Stripe.js mounts (Payment Element, 3-D Secure), served from the sandbox's origin.
ELEMENT_FILES = {
    "payment.html": "text/html; charset=utf-8",
    "three-d-secure.html": "text/html; charset=utf-8",
    "channel.js": "application/javascript; charset=utf-8",
    "payment.js": "application/javascript; charset=utf-8",
    "three-d-secure.js": "application/javascript; charset=utf-8",
    "elements.css": "text/css; charset=utf-8",
}
# The frames' own policy: their scripts and styles are files from this origin, nothing inline,
# and they talk to this origin's API only. Any page may embed them (as Stripe's frames).
FRAME_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'"
)
CORS = {
    # Pages on other origins load the shim and call the API with a publishable key.
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Stripe-Account, "
    "Idempotency-Key, Stripe-Version",
    "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
    "Access-Control-Expose-Headers": "Request-Id, Idempotent-Replayed, Original-Request",
    "Access-Control-Max-Age": "600",
}


def _element_file(name: str) -> Reply:
    if name not in ELEMENT_FILES:  # a fixed list: never a path into the file system
        message = f"Unrecognized request URL (GET: /elements/{name})."
        return Reply(404, {"error": {"type": "invalid_request_error", "message": message}})
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if name.endswith(".html"):
        headers["Content-Security-Policy"] = FRAME_CSP
    return Reply(200, (ELEMENTS / name).read_text(), headers, ELEMENT_FILES[name])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe-sandbox"
    # Headers and body go out in two writes; without this, Nagle + delayed ACK add ~40 ms to
    # every keep-alive request the SDK makes.
    disable_nagle_algorithm = True
    sandbox: Sandbox  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests and the demo read the control API, not an access log

    def do_GET(self) -> None:
        self._handle("get")

    def do_POST(self) -> None:
        self._handle("post")

    def do_DELETE(self) -> None:
        self._handle("delete")

    def do_OPTIONS(self) -> None:
        self._send(Reply(204, "", {}, "text/plain"))

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = url.path
        try:
            if path.startswith("/v1/"):
                reply = self.sandbox.handle_api(method, path, url.query, body, headers)
            elif path.startswith("/oauth/"):
                reply = self._oauth(method, path, url.query, body, headers)
            elif path.startswith("/_sandbox/"):
                reply = control.handle(self.sandbox, method, path, body)
            elif path in ("/v3", "/v3/", "/v3/stripe.js") and method == "get":
                reply = Reply(
                    200,
                    SHIM.read_text(),
                    {"Cache-Control": "no-cache"},
                    "application/javascript; charset=utf-8",
                )
            elif path.startswith("/elements/") and method == "get":
                reply = _element_file(path.removeprefix("/elements/"))
            elif path == "/dashboard" or path.startswith("/dashboard/"):
                reply = dashboard.handle(self.sandbox, method, path)
            else:
                message = f"Unrecognized request URL ({method.upper()}: {path})."
                reply = Reply(404, {"error": {"type": "invalid_request_error", "message": message}})
        except Exception as e:  # a bug must still answer like Stripe's 500, not hang the client
            reply = Reply(500, {"error": {"type": "api_error", "message": f"Sandbox error: {e!r}"}})
        self._send(reply)

    def _oauth(
        self, method: str, path: str, query: str, body: str, headers: dict[str, str]
    ) -> Reply:
        if path == "/oauth/authorize":
            if method == "get":
                return oauth.authorize_page(self.sandbox, query)
            return oauth.authorize_submit(self.sandbox, body)
        try:
            if (method, path) == ("post", "/oauth/token"):
                return Reply(200, oauth.token(self.sandbox, headers.get("authorization"), body))
            if (method, path) == ("post", "/oauth/deauthorize"):
                return Reply(
                    200, oauth.deauthorize(self.sandbox, headers.get("authorization"), body)
                )
        except OAuthError as e:
            return Reply(e.status, e.body())
        return Reply(404, {"error": "invalid_request", "error_description": f"No such URL {path}"})

    def _send(self, reply: Reply) -> None:
        if isinstance(reply.body, dict | list):
            data = json.dumps(reply.body, indent=2).encode()
        else:
            data = str(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Stripe-Version", "2023-08-16")
        for name, value in {**CORS, **reply.headers}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class SandboxServer:
    """A running sandbox: `.url`, `.stop()`, and Python handles on the control API."""

    def __init__(self, sandbox: Sandbox, httpd: ThreadingHTTPServer) -> None:
        self.sandbox = sandbox
        self._httpd = httpd
        self.port: int = httpd.server_address[1]
        self.url = f"http://{HOST}:{self.port}"
        sandbox.base_url = self.url
        self._thread = threading.Thread(
            # a short poll interval makes stop() quick (tests start and stop servers often)
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="stripe-sandbox-http",
            daemon=True,
        )

    def _start(self) -> None:
        self.sandbox.start()
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self.sandbox.stop()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where things are -------------------------------------------------------------------
    @property
    def shim_url(self) -> str:
        return f"{self.url}/v3/"

    @staticmethod
    def publishable_key(account: str = PLATFORM_ACCOUNT_ID) -> str:
        return publishable_key_for(account)

    # -- controls (same as /_sandbox/…) -----------------------------------------------------
    def configure_faults(self, **changes: Any) -> FaultSettings:
        return self.sandbox.faults.configure(**changes)

    def clear_faults(self) -> None:
        self.sandbox.faults.clear()

    def reset(self) -> None:
        self.sandbox.reset()

    def pause_webhooks(self) -> None:
        self.sandbox.webhooks.pause()

    def resume_webhooks(self) -> None:
        self.sandbox.webhooks.resume()

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        return self.sandbox.webhooks.wait_idle(timeout)

    def api_requests(self, path_contains: str = "") -> list[tuple[str, str]]:
        """The API requests received since the last reset, as (METHOD, path)."""
        return [r for r in list(self.sandbox.api_requests) if path_contains in r[1]]

    def deliveries(self) -> list[dict[str, Any]]:
        return list(self.sandbox.webhooks.log)

    def add_webhook_endpoint(
        self,
        url: str,
        *,
        secret: str | None = None,
        connect: bool = False,
        enabled_events: list[str] | None = None,
    ) -> Obj:
        return self.sandbox.add_endpoint(
            url, secret=secret, connect=connect, enabled_events=enabled_events
        )

    def connect_account(self, account: str, client_id: str = "ca_sandbox") -> None:
        control.connect_account(self.sandbox, account, client_id)

    def disconnect_account(self, account: str) -> None:
        control.disconnect_account(self.sandbox, account)

    def complete_3ds(self, payment_intent: str, client_secret: str, *, success: bool = True) -> Obj:
        return control.three_d_secure(self.sandbox, payment_intent, client_secret, success)

    def settle_refund(self, refund: str, status: str, failure_reason: str = "") -> Obj:
        """Move a refund on (pending, requires_action, succeeded, failed, canceled)."""
        return control.refund_settle(self.sandbox, refund, status, failure_reason)


def start(
    port: int = 0,
    state_file: str | Path | None = None,
    webhook_endpoints: list[EndpointConfig | dict[str, Any]] | None = None,
    *,
    webhook_backoff_seconds: float = 1.0,
    webhook_max_attempts: int = 8,
    webhook_timeout_seconds: float = 10.0,
    connect_seed_accounts: bool = False,
) -> SandboxServer:
    """Start the sandbox on 127.0.0.1:`port` (0 = any free port) in background threads.

    `webhook_endpoints` items are EndpointConfig or dicts with url, secret, connect,
    enabled_events. Use the result as a context manager, or call `.stop()`.
    """
    endpoints = [
        e
        if isinstance(e, EndpointConfig)
        else EndpointConfig(
            url=e["url"],
            secret=e.get("secret"),
            connect=bool(e.get("connect", False)),
            enabled_events=tuple(e.get("enabled_events", ("*",))),
        )
        for e in webhook_endpoints or []
    ]
    sandbox = Sandbox(
        state_file=Path(state_file) if state_file is not None else None,
        webhook_endpoints=endpoints,
        webhook_backoff_seconds=webhook_backoff_seconds,
        webhook_max_attempts=webhook_max_attempts,
        webhook_timeout_seconds=webhook_timeout_seconds,
        connect_seed_accounts=connect_seed_accounts,
    )
    handler = type("Handler", (_Handler,), {"sandbox": sandbox})
    httpd = ThreadingHTTPServer((HOST, port), handler)
    httpd.daemon_threads = True
    server = SandboxServer(sandbox, httpd)
    server._start()
    return server
