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
    """Return the executable's path; skip (locally) or fail (CI) when it is not installed."""
    found = path_or_name if os.path.isabs(path_or_name) else shutil.which(path_or_name)
    if found and os.access(found, os.X_OK):
        return found
    message = f"{path_or_name} is not installed ({why}); `bash .ci/run` installs it"
    if in_ci():
        pytest.fail(message)
    # Justified skip: a developer without the package can still run everything else; CI fails above.
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
