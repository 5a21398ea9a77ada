"""Finding the real services the tests need (Chromium, PostgreSQL, Redis, coturn).

A missing service skips the test on a developer's machine, with the reason, and fails it in CI
(`CI=true`), where `.ci/run` must have installed it.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_executable(path_or_name: str, *, why: str) -> str:
    """Return the executable's path; fail the test when it is not installed."""
    found = path_or_name if os.path.isabs(path_or_name) else shutil.which(path_or_name)
    if found and os.access(found, os.X_OK):
        return found
    # Never a skip: a test that did not run proves nothing. `make test` installs the packages
    # (testsupport/debian-packages) before any test runs.
    pytest.fail(f"{path_or_name} is not installed ({why}); `make test` installs it")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
