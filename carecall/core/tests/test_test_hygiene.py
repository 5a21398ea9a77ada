"""Test hygiene the suite keeps: shared helpers live in importable helper modules (testsupport/,
an app's tests/helpers.py), never imported from a conftest.py, which pytest loads by itself and
which would otherwise be imported twice under two names."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FROM_CONFTEST = re.compile(
    r"^\s*(from\s+[\w.]*\bconftest\s+import|import\s+[\w.]*\bconftest\b)", re.M
)


def _python_files() -> list[Path]:
    return [
        path
        for top in ("carecall", "config", "e2e", "stripe_sandbox", "testsupport", "bench")
        for path in (ROOT / top).rglob("*.py")
    ]


def test_no_module_imports_from_a_conftest() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _python_files()
        if FROM_CONFTEST.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_hygiene_check_finds_an_import_from_a_conftest() -> None:
    assert FROM_CONFTEST.search("x = 1\nfrom conftest import World\n")
    assert FROM_CONFTEST.search("    from .conftest import http\n")
    assert FROM_CONFTEST.search("from carecall.payments.tests.conftest import WebhookRecorder\n")
    assert not FROM_CONFTEST.search("from testsupport.world import World\n")


def test_shipped_code_patches_nothing_with_unittest_mock() -> None:
    """Mocks belong to tests; the demo's past moments come from time-machine (payments/demo.py)."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "carecall").rglob("*.py")
        if "tests" not in path.relative_to(ROOT).parts
        and re.search(
            r"^\s*(from unittest import mock|import unittest\.mock|from unittest\.mock)",
            path.read_text(encoding="utf-8"),
            re.M,
        )
    ]
    assert offenders == []
