"""How long one API call to stripe_sandbox takes through the official SDK, against a bare server.

    .venv/bin/python bench/stripe_sandbox_requests.py              # 300 calls of each
    .venv/bin/python bench/stripe_sandbox_requests.py --calls 1000

Why: every payment test and the demo talk to the sandbox through the `stripe` SDK; a sandbox
that answers slowly (a lock held too long, a socket option such as Nagle's delay on small
writes, a state file rewritten per call) slows the whole suite. This used to be a timed test;
timings live here instead.

Anchor: the same SDK HTTP client (`stripe.RequestsClient`, what the SDK uses) against a bare
`http.server` on loopback that answers `{}` to every POST: HTTP and the client's own cost with
no sandbox in it. Measured in this process, interleaved in rounds of 50, so a busy machine hits
both alike. Printed: median and p90 per call, and the sandbox's ratio to the anchor.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `python bench/…` puts only bench/ on the path
    sys.path.insert(0, str(ROOT))

import stripe  # noqa: E402  (after the path fix above)

import stripe_sandbox  # noqa: E402


class _Bare(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without these the headers and the body leave in two small writes and loopback's delayed
    # ACK adds ~40 ms to every answer: the anchor would measure TCP, not a bare server.
    disable_nagle_algorithm = True
    wbufsize = -1

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()

    bare = ThreadingHTTPServer(("127.0.0.1", 0), _Bare)
    threading.Thread(target=bare.serve_forever, daemon=True).start()
    bare_url = f"http://127.0.0.1:{bare.server_address[1]}/v1/payment_intents"
    http = stripe.RequestsClient()
    form = "amount=4500&currency=aud&description=Standard+consultation"
    headers = {
        "Authorization": "Bearer sk_test_bench",
        "Content-Type": "application/x-www-form-urlencoded",
    }

    anchor: list[float] = []
    sandbox_times: list[float] = []
    with stripe_sandbox.start() as sandbox:
        client = stripe.StripeClient(
            "sk_test_bench", base_addresses={"api": sandbox.url}, max_network_retries=0
        )

        def create() -> None:
            client.v1.payment_intents.create(
                {"amount": 4500, "currency": "aud", "description": "Standard consultation"}
            )

        create()  # warm-up of each
        http.request("post", bare_url, headers, form)
        done = 0
        while done < args.calls:
            batch = min(50, args.calls - done)
            for _ in range(batch):
                started = time.perf_counter()
                http.request("post", bare_url, headers, form)
                anchor.append(time.perf_counter() - started)
            for _ in range(batch):
                started = time.perf_counter()
                create()
                sandbox_times.append(time.perf_counter() - started)
            done += batch
    bare.shutdown()

    a_med, s_med = statistics.median(anchor), statistics.median(sandbox_times)
    print(f"{'':52}{'median':>10}{'p90':>10}   ratio to anchor (medians)")
    print(
        f"  anchor: bare http.server, SDK's HTTP client       "
        f"{a_med * 1000:7.2f} ms{_percentile(anchor, 0.9) * 1000:7.2f} ms     1.0×"
    )
    print(
        f"  stripe_sandbox: PaymentIntent create via the SDK  "
        f"{s_med * 1000:7.2f} ms{_percentile(sandbox_times, 0.9) * 1000:7.2f} ms"
        f"  {s_med / a_med:6.1f}×"
    )
    print(f"  ({args.calls} calls each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
