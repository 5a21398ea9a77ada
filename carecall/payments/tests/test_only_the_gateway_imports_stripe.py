"""House rule: `carecall/payments/stripe_gateway.py` is the only module that imports `stripe`;
everything else talks to Stripe through `gateway.py` (tests may use the SDK as a client would)."""

from __future__ import annotations

import ast
from pathlib import Path

import carecall

ROOT = Path(carecall.__file__).parent
ALLOWED = {ROOT / "payments" / "stripe_gateway.py"}


def _imports_stripe(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            names = [str(node.args[0].value)]
        else:
            continue
        if any(name == "stripe" or name.startswith("stripe.") for name in names):
            lines.append(node.lineno)
    return lines


def _application_modules() -> list[Path]:
    return [
        path
        for path in sorted(ROOT.rglob("*.py"))
        if "tests" not in path.relative_to(ROOT).parts and "migrations" not in path.parts
    ]


def test_no_module_but_stripe_gateway_imports_stripe() -> None:
    offenders = {
        str(path.relative_to(ROOT.parent)): found
        for path in _application_modules()
        if path not in ALLOWED
        and (found := _imports_stripe(ast.parse(path.read_text(), filename=str(path))))
    }
    assert offenders == {}


def test_the_scan_finds_every_way_of_importing_stripe() -> None:
    for source in (
        "import stripe",
        "import stripe.error as e",
        "from stripe import StripeClient",
        "from stripe._http_client import new_default_http_client",
        "def f():\n    import stripe",
        "import importlib\nimportlib.import_module('stripe')",
        "__import__('stripe')",
    ):
        assert _imports_stripe(ast.parse(source)), source
    for source in (
        "import stripe_sandbox",
        "from .stripe import x",
        "from carecall import payments",
    ):
        assert not _imports_stripe(ast.parse(source)), source
    # The scan does see the real modules, the gateway among them.
    modules = _application_modules()
    assert ROOT / "payments" / "demo.py" in modules
    (gateway,) = ALLOWED
    assert _imports_stripe(ast.parse(gateway.read_text()))
