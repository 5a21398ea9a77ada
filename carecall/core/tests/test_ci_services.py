"""With CI=true a missing service fails the run; on a developer's machine it only skips."""

from __future__ import annotations

import pytest

from testsupport import postgres
from testsupport.services import require_executable

MISSING = "/nonexistent/carecall-test/chromium"


def test_a_missing_executable_fails_the_test_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium is not installed"):
        require_executable(MISSING, why="browser tests")


def test_a_missing_executable_only_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        require_executable(MISSING, why="browser tests")


def test_an_installed_executable_is_returned_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert require_executable("/bin/sh", why="a shell") == "/bin/sh"


def test_the_postgresql_pass_fails_in_ci_when_postgresql_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(postgres, "_binaries", lambda: None)
    assert postgres.main(["--", "true"]) != 0
    assert "FAILED: PostgreSQL is not installed" in capsys.readouterr().err


def test_the_postgresql_pass_is_skipped_outside_ci_when_postgresql_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(postgres, "_binaries", lambda: None)
    assert postgres.main(["--", "false"]) == 0
    assert "SKIPPED: PostgreSQL is not installed" in capsys.readouterr().out
