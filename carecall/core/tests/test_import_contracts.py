"""The import contracts (`[tool.importlinter]` in pyproject.toml) hold for the code, and each
one fails when a copy of the code breaks it: the check can fail."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import carecall

REPO = Path(carecall.__file__).resolve().parent.parent
PACKAGES = ("carecall", "config", "stripe_sandbox")

# lint-imports, run on the tree in the working directory rather than on the editable install.
_RUN_ON_CWD = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
sys.path.insert(0, ".")
from importlinter.cli import lint_imports_command
lint_imports_command(["--no-cache"])
"""


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _RUN_ON_CWD],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    shutil.copy(REPO / "pyproject.toml", root)
    for package in PACKAGES:
        shutil.copytree(
            REPO / package,
            root / package,
            ignore=shutil.ignore_patterns("__pycache__", "static", "templates", "*.js"),
        )
    return root


def _append(root: Path, module: str, line: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_code_and_its_copy_keep_every_import_contract(copy: Path) -> None:
    for root in (REPO, copy):
        result = _lint_imports(root)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Contracts: 6 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "carecall.orgs.selectors",
            "import carecall.payments.models",
            "Layers: each app imports only the apps below it",
        ),
        ("carecall.core.currencies", "import carecall.orgs.models", "core imports no app"),
        (
            "carecall.calls.selectors",
            "from carecall.payments import selectors",
            "calls does not import payments",
        ),
        (
            "carecall.payments.services.requests",
            "import stripe",
            "Only carecall.payments.stripe_gateway imports stripe",
        ),
        (
            "carecall.calls.views",
            "def f():\n    from stripe import StripeClient",
            "Only carecall.payments.stripe_gateway imports stripe",
        ),
        (
            "stripe_sandbox.state",
            "import carecall.core.errors",
            "stripe_sandbox imports nothing of CareCall",
        ),
        (
            "carecall.payments.demo",
            "import stripe_sandbox",
            "CareCall imports stripe_sandbox only in the demo",
        ),
    ],
)
def test_a_contract_fails_when_the_code_breaks_it(
    copy: Path, module: str, line: str, contract: str
) -> None:
    path = copy / (module.replace(".", "/") + ".py")
    before = path.read_text()
    _append(copy, module, line)
    try:
        result = _lint_imports(copy)
    finally:
        path.write_text(before)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contract in broken
