"""The `carecall` command: `carecall demo`, `carecall serve`, and Django's management commands."""

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


def _port() -> int:
    from config.env import env_int

    return env_int("PORT", 8000, minimum=1, maximum=65535)


def demo() -> None:
    var_dir = Path(os.environ.get("CARECALL_VAR_DIR", BASE_DIR / "var"))
    _demo_environment(var_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    from carecall.orgs.demo import DEMO_PASSWORD, demo_seed

    people = demo_seed()
    site = os.environ["SITE_URL"]
    print("\nCareCall demo — everything runs on this machine.\n")
    print(f"  Sign in:   {site}/accounts/sign-in/")
    print(f"  Operator:  {site}/operator/   Django admin: {site}/operator/django-admin/")
    print(f"  Mail:      {var_dir / 'mail'} (one .eml file per message)\n")
    print(f"  Demo people (password for all: {DEMO_PASSWORD}):")
    for person in people:
        print(f"    {person.description:<36} {person.email}")
    print()
    _serve(port=_port(), reload=False)


def serve() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from config.env import EnvError, env_bool, env_optional_str

    try:
        if env_bool("DEBUG", False):
            sys.exit("carecall serve refuses to run with DEBUG on: unset DEBUG in production.")
        if env_optional_str("SECRET_KEY") is None:
            sys.exit("carecall serve needs SECRET_KEY: set it to a long random string.")
        import django

        django.setup()
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
        proxy_headers=True,
        forwarded_allow_ips=env_str("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        reload=reload,
    )


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "help"
    if command == "demo":
        demo()
    elif command == "serve":
        serve()
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        from django.core.management import execute_from_command_line

        if command == "help":
            print("carecall demo | carecall serve | carecall <django management command>\n")
        execute_from_command_line(["carecall", *args])


if __name__ == "__main__":
    main()
