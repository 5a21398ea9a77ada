"""`python -m stripe_sandbox --port 12111 [--state-file PATH] [--webhook URL[,SECRET][,connect]]`"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .sandbox import EndpointConfig
from .server import start
from .state import HARBOUR_GP_ACCOUNT_ID, NORTHSIDE_PHYSIO_ACCOUNT_ID, publishable_key_for


def _endpoint(spec: str) -> EndpointConfig:
    parts = spec.split(",")
    secret = next((p for p in parts[1:] if p.startswith("whsec_")), None)
    return EndpointConfig(url=parts[0], secret=secret, connect="connect" in parts[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stripe_sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=12111, help="port on 127.0.0.1 (0 = any)")
    parser.add_argument("--state-file", help="persist state to this JSON file (default: memory)")
    parser.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL[,whsec_…][,connect]",
        help="a webhook endpoint; repeat for several; 'connect' for Connect events",
    )
    parser.add_argument("--webhook-backoff", type=float, default=1.0, help="first retry delay (s)")
    parser.add_argument(
        "--connect-seed-accounts",
        action="store_true",
        help="start with the seeded accounts already connected",
    )
    args = parser.parse_args(argv)
    try:
        endpoints = [_endpoint(s) for s in args.webhook]
        server = start(
            port=args.port,
            state_file=args.state_file,
            webhook_endpoints=list(endpoints),
            webhook_backoff_seconds=args.webhook_backoff,
            connect_seed_accounts=args.connect_seed_accounts,
        )
    except (OSError, ValueError) as e:
        print(f"stripe_sandbox: {e}", file=sys.stderr)
        return 2
    print(f"stripe_sandbox listening on {server.url}", flush=True)
    print(f"  Stripe.js shim: {server.shim_url}")
    for acct in (HARBOUR_GP_ACCOUNT_ID, NORTHSIDE_PHYSIO_ACCOUNT_ID):
        print(f"  test account {acct} (publishable key {publishable_key_for(acct)})")
    for endpoint in server.sandbox.state.endpoints:
        kind = "connect" if endpoint["connect"] else "platform"
        print(f"  webhook ({kind}) {endpoint['url']} secret {endpoint['secret']}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
