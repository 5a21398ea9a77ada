"""The shim as served: where, what type, how big, and never a secret key."""

from __future__ import annotations

import re
from pathlib import Path

from .conftest import http

SHIM = Path(__file__).resolve().parents[1] / "shim" / "stripe.js"


def test_served_at_v3_as_javascript_with_cors(sandbox):
    for path in ("/v3/", "/v3"):
        r = http("GET", sandbox.url + path, key=None)
        assert r.status == 200
        assert r.headers["content-type"].startswith("application/javascript")
        assert r.headers["access-control-allow-origin"] == "*"
        assert "window.Stripe" in r.body
    assert sandbox.shim_url == f"{sandbox.url}/v3/"


def test_small_plain_javascript():
    text = SHIM.read_text()
    assert len(text.encode()) <= 25 * 1024
    assert not re.search(r"^\s*(import|export)\s", text, re.M)  # no modules, no build step


def test_uses_only_the_publishable_key():
    text = SHIM.read_text()
    assert "sk_test" not in text and "sk_live" not in text
    assert "pk_test_" in text  # it refuses anything but a publishable test key
