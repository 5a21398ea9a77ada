"""Run a command against PostgreSQL: `python -m testsupport.postgres -- pytest …`.

With DATABASE_URL set to a postgres:// URL the command just runs. Otherwise a throwaway cluster
is made in a temporary folder from Debian's PostgreSQL binaries and removed afterwards. As root
(CI), initdb refuses to run, so the cluster belongs to the `postgres` user (docs/machine-notes.md).
Without PostgreSQL (and no postgres DATABASE_URL) the pass fails: it must run.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testsupport.services import free_port


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a PostgreSQL cluster on a free port; yield its DATABASE_URL."""
    binaries = _binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (Debian package postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="carecall-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    port = free_port()
    data, log = folder / "data", folder / "log"
    try:
        subprocess.run(
            _as_owner([str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "carecall"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_owner(
                [
                    str(binaries / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-o",
                    options,
                    "-w",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        yield f"postgres://carecall@127.0.0.1:{port}/postgres"
    finally:
        if data.exists():
            subprocess.run(
                _as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.2)
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print("usage: python -m testsupport.postgres -- COMMAND …", file=sys.stderr)
        return 2
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return subprocess.call(argv)
    if _binaries() is None:
        print(
            "FAILED: PostgreSQL is not installed: the PostgreSQL pass of the tests did not run "
            "(`make test` installs it, or set DATABASE_URL)",
            file=sys.stderr,
        )
        return 1
    with throwaway_cluster() as database_url:
        print(f"== tests on PostgreSQL ({database_url})", flush=True)
        return subprocess.call(argv, env={**os.environ, "DATABASE_URL": database_url})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
