"""The shim as served: where, what type, how big, and never a secret key."""

from __future__ import annotations

import re
from pathlib import Path

from stripe_sandbox.tests.helpers import http

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


ELEMENTS = SHIM.parent / "elements"


def test_the_frames_are_served_from_the_sandbox_under_a_strict_csp(sandbox):
    for page in ("payment.html", "three-d-secure.html"):
        r = http("GET", f"{sandbox.url}/elements/{page}", key=None)
        assert r.status == 200 and r.headers["content-type"].startswith("text/html")
        policy = r.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "default-src 'none'" in policy and "unsafe" not in policy
        # No inline script, style or handler: everything the policy allows is a file.
        assert not re.search(r"<script(?![^>]*\bsrc=)", r.body)
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", r.body)
        for asset in re.findall(r'(?:src|href)="([^"]+)"', r.body):
            served = http("GET", f"{sandbox.url}/elements/{asset}", key=None)
            assert served.status == 200, asset
            assert served.headers["x-content-type-options"] == "nosniff"
    assert (
        http("GET", f"{sandbox.url}/elements/payment.js", key=None)
        .headers["content-type"]
        .startswith("application/javascript")
    )
    assert (
        http("GET", f"{sandbox.url}/elements/elements.css", key=None)
        .headers["content-type"]
        .startswith("text/css")
    )


def test_only_the_frames_files_are_served(sandbox):
    for name in ("../server.py", "..%2Fserver.py", "nope.html", "", "elements/payment.html"):
        assert http("GET", f"{sandbox.url}/elements/{name}", key=None).status == 404


def test_the_frames_hold_the_card_and_the_page_script_does_not():
    page_script = SHIM.read_text()
    # The host script never names a card field or builds card parameters.
    assert "card[number]" not in page_script and "cc-number" not in page_script
    assert "exp_month" not in page_script and "/v1/payment_methods" not in page_script
    frame_script = (ELEMENTS / "payment.js").read_text()
    assert "exp_month" in frame_script and "/confirm" in frame_script
    # Messages go to the one origin named by the host, never to "*".
    for text in (page_script, *(p.read_text() for p in ELEMENTS.glob("*.js"))):
        assert not re.search(r"postMessage\([^)]*['\"]\*['\"]", text)
