"""The `carecall` command: `carecall demo`, `carecall serve`, `carecall worker`, and Django's
management commands."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _demo_environment(var_dir: Path) -> None:
    """Everything embedded: SQLite under var/, in-memory channels, mail to files, a local secret."""
    var_dir.mkdir(parents=True, exist_ok=True)
    key_file = var_dir / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    port = os.environ.get("PORT", "8000")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SECRET_KEY", key_file.read_text().strip())
    os.environ.setdefault("CARECALL_VAR_DIR", str(var_dir))
    os.environ.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{var_dir / 'carecall.sqlite3'}")
    os.environ.setdefault("EMAIL_URL", f"file://{var_dir / 'mail'}")


def _demo_stripe(var_dir: Path, port: int) -> None:
    """Start stripe_sandbox in this process and point CareCall's Stripe settings at it."""
    import stripe_sandbox
    from config.env import env_int

    sandbox_port = env_int("STRIPE_SANDBOX_PORT", port + 1, minimum=1, maximum=65535)
    secret_file = var_dir / "stripe_webhook_secret"
    if not secret_file.exists():
        secret_file.write_text("whsec_" + secrets.token_hex(24))
    webhook_secret = secret_file.read_text().strip()
    sandbox = stripe_sandbox.start(
        port=sandbox_port,
        state_file=str(var_dir / "stripe-sandbox.json"),
        webhook_endpoints=[
            {
                "url": f"http://127.0.0.1:{port}/payments/stripe/webhook/",
                "secret": webhook_secret,
                "connect": True,
            }
        ],
        webhook_backoff_seconds=2.0,
    )
    os.environ.setdefault("STRIPE_SECRET_KEY", "sk_test_carecall_demo")
    os.environ.setdefault("STRIPE_PUBLISHABLE_KEY", "pk_test_carecall_demo")
    os.environ.setdefault("STRIPE_CONNECT_CLIENT_ID", "ca_carecall_demo")
    os.environ.setdefault("STRIPE_WEBHOOK_SECRET", webhook_secret)
    os.environ.setdefault("STRIPE_API_BASE", sandbox.url)
    os.environ.setdefault("STRIPE_CONNECT_BASE", sandbox.url)
    os.environ.setdefault("STRIPE_JS_URL", sandbox.shim_url)
    os.environ.setdefault("STRIPE_DASHBOARD_URL", f"{sandbox.url}/dashboard")
    print(f"  stripe_sandbox (offline Stripe) on {sandbox.url}")


def _worker_threads() -> int:
    from config.env import env_int

    return env_int("WORKER_THREADS", 2, minimum=1, maximum=32)


def _worker_in_process() -> None:
    """The demo's worker, in threads of the web process: it processes the webhook inbox and
    runs the periodic jobs (outbox, reconcile, abandoned visits, retention). Being in the web
    process, what it announces (a payment is paid) reaches this process's sockets without
    Redis."""
    from carecall.jobs.worker import worker_start

    worker_start(threads=_worker_threads())


def _port() -> int:
    from config.env import env_int

    return env_int("PORT", 8000, minimum=1, maximum=65535)


def demo() -> None:
    var_dir = Path(os.environ.get("CARECALL_VAR_DIR", BASE_DIR / "var"))
    _demo_environment(var_dir)
    _demo_stripe(var_dir, _port())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    from carecall.calls.web_process import WebProcessTaken, web_process_claim

    try:  # the demo has no Redis: one demo per database (its var folder)
        web_process_claim()
    except WebProcessTaken as taken:
        sys.exit(f"carecall demo: {taken}")
    call_command("migrate", interactive=False, verbosity=0)
    from carecall.orgs.demo import DEMO_PASSWORD, demo_seed

    people = demo_seed()
    from carecall.calls.services import participants_connections_forget

    # The demo is one process: nothing is connected before it serves.
    participants_connections_forget()
    from carecall.payments.demo import demo_payments_seed

    made = demo_payments_seed()
    if made:
        print(f"  Made {made} sample payments at Northside Physio through stripe_sandbox.")
    site = os.environ["SITE_URL"]
    print("\nCareCall demo — everything runs on this machine.\n")
    print(f"  Sign in:   {site}/accounts/sign-in/")
    print(f"  Operator:  {site}/operator/   Django admin: {site}/operator/django-admin/")
    print(f"  Mail:      {var_dir / 'mail'} (one .eml file per message)")
    print(f"  Patients:  {site}/c/harbour-gp/  and  {site}/c/northside-physio/")
    print("  Test cards: 4242 4242 4242 4242 pays; 4000 0000 0000 0002 is declined;")
    print("              4000 0025 0000 3155 asks for 3-D Secure. Any future expiry, any CVC.\n")
    print(f"  Demo people (password for all: {DEMO_PASSWORD}):")
    for person in people:
        print(f"    {person.description:<36} {person.email}")
    print()
    _worker_in_process()
    _serve(port=_port(), reload=False)


def serve() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from config.env import EnvError, env_bool, env_int, env_optional_str

    try:
        if env_bool("DEBUG", False):
            sys.exit("carecall serve refuses to run with DEBUG on: unset DEBUG in production.")
        if env_optional_str("SECRET_KEY") is None:
            sys.exit("carecall serve needs SECRET_KEY: set it to a long random string.")
        if env_int("WEB_WORKERS", 1, minimum=1) > 1 and env_optional_str("REDIS_URL") is None:
            # Live events would reach only the sockets of the process that sent them.
            sys.exit(
                "carecall serve: WEB_WORKERS above 1 needs REDIS_URL (live events cross "
                "processes through Redis); set REDIS_URL or use one worker."
            )
        import django

        django.setup()
        if env_optional_str("REDIS_URL") is None:
            from django.db import DatabaseError

            from carecall.calls.services import participants_connections_forget
            from carecall.calls.web_process import WebProcessTaken, web_process_claim

            # Before anything is reset: a second server must not touch the first one's counts.
            try:
                web_process_claim()
            except WebProcessTaken as taken:
                sys.exit(f"carecall serve: {taken}")
            # One process and no Redis: this is the only server, nothing is connected yet.
            try:
                participants_connections_forget()
            except DatabaseError as error:  # not migrated yet: serving says so page by page
                print(f"carecall serve: {error}", file=sys.stderr)
    except EnvError as error:
        sys.exit(f"carecall serve: {error}")
    _serve(port=_port(), reload=False)


def _serve(*, port: int, reload: bool) -> None:
    import uvicorn

    from config.env import env_int, env_str

    uvicorn.run(
        "config.asgi:application",
        host=env_str("HOST", "127.0.0.1"),
        port=port,
        workers=env_int("WEB_WORKERS", 1, minimum=1),
        lifespan="off",
        # REMOTE_ADDR stays the peer that connected: the client's address behind proxies is
        # read by the app from PROXY_COUNT alone (carecall/core/client_address.py).
        proxy_headers=False,
        reload=reload,
    )


def worker() -> None:
    """`carecall worker`: process the webhook inbox and run the periodic jobs until SIGTERM or
    Ctrl+C (then the tasks under way finish first). Run one or more beside `carecall serve`,
    with the same environment."""
    import signal
    import threading

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from config.env import EnvError

    try:
        threads = _worker_threads()
        import django

        django.setup()
    except EnvError as error:
        sys.exit(f"carecall worker: {error}")
    from carecall.jobs.worker import worker_start

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    running = worker_start(threads=threads)
    print(
        f"carecall worker: {threads} inbox thread(s), the jobs thread and the scheduler running",
        flush=True,
    )
    while not stop.wait(1.0):
        if not running.alive():
            sys.exit("carecall worker: its threads stopped")
    print("carecall worker: stopping (letting running tasks finish)", flush=True)
    running.stop()


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "help"
    if command == "demo":
        from config.env import EnvError

        try:
            demo()
        except EnvError as error:
            sys.exit(f"carecall demo: {error}")
    elif command == "serve":
        serve()
    elif command == "worker":
        worker()
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        from django.core.management import execute_from_command_line

        from config.env import EnvError

        if command == "help":
            print(
                "carecall demo | carecall serve | carecall worker | "
                "carecall <django management command>\n"
            )
        try:
            execute_from_command_line(["carecall", *args])
        except EnvError as error:
            sys.exit(f"carecall: {error}")


if __name__ == "__main__":
    main()
