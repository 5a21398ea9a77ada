"""A missing service fails the run, in CI and on a developer's machine alike: a test that did
not run proves nothing. `make test` installs the packages first (testsupport/debian-packages)."""

from __future__ import annotations

import pytest

from testsupport import postgres
from testsupport.services import require_executable

MISSING = "/nonexistent/carecall-test/chromium"


@pytest.mark.parametrize("ci", ["true", None])
def test_a_missing_executable_fails_the_test_in_ci_and_outside_it(
    monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="chromium is not installed"):
        require_executable(MISSING, why="browser tests")


def test_an_installed_executable_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert require_executable("/bin/sh", why="a shell") == "/bin/sh"


@pytest.mark.parametrize("ci", ["true", None])
def test_the_postgresql_pass_fails_when_postgresql_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ci: str | None
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(postgres, "_binaries", lambda: None)
    assert postgres.main(["--", "true"]) != 0
    assert "FAILED: PostgreSQL is not installed" in capsys.readouterr().err
