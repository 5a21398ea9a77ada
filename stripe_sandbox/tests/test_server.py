"""Starting the sandbox: start() in a thread, the CLI, 127.0.0.1 only, optional state file."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import stripe_sandbox
from stripe_sandbox.params import decode_form
from stripe_sandbox.tests.helpers import PROJECT_ROOT, http, make_client
from testsupport.services import free_port


def test_start_as_context_manager_and_stop():
    with stripe_sandbox.start() as s:
        assert s.url.startswith("http://127.0.0.1:") and s.port > 0
        assert http("GET", f"{s.url}/_sandbox/health", key=None).body["ok"] is True
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", s.port)) != 0  # stopped


def test_listens_on_loopback_only():
    with stripe_sandbox.start() as s:
        bound = s._httpd.server_address[0]
        assert bound == "127.0.0.1"


def test_state_is_in_memory_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with stripe_sandbox.start() as s:
        make_client(s.url).v1.payment_intents.create({"amount": 4500, "currency": "aud"})
    assert list(tmp_path.iterdir()) == []
    with stripe_sandbox.start() as s:
        assert make_client(s.url).v1.payment_intents.list().data == []


def test_state_file_persists_across_restarts(tmp_path):
    path = tmp_path / "sandbox-state.json"
    with stripe_sandbox.start(state_file=path, connect_seed_accounts=True) as s:
        client = make_client(s.url)
        pi = client.v1.payment_intents.create(
            {"amount": 4500, "currency": "aud"}, {"idempotency_key": "persisted-key"}
        )
    assert json.loads(path.read_text())["objects"]
    with stripe_sandbox.start(state_file=path) as s:
        client = make_client(s.url)
        assert client.v1.payment_intents.retrieve(pi.id).amount == 4500
        replay = client.v1.payment_intents.create(
            {"amount": 4500, "currency": "aud"}, {"idempotency_key": "persisted-key"}
        )
        assert replay.id == pi.id
        assert client.v1.accounts.retrieve(stripe_sandbox.HARBOUR_GP_ACCOUNT_ID).id


def test_cli(tmp_path):
    port = free_port()
    state = tmp_path / "cli-state.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_sandbox",
            "--port",
            str(port),
            "--state-file",
            str(state),
            "--webhook",
            "http://127.0.0.1:9/hook,whsec_abc,connect",
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line
        url = f"http://127.0.0.1:{port}"
        make_client(url).v1.payment_intents.create({"amount": 4500, "currency": "aud"})
        endpoints = http("GET", f"{url}/_sandbox/webhook_endpoints", key=None).body["data"]
        assert [(e["secret"], e["connect"]) for e in endpoints] == [("whsec_abc", True)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
    assert "payment_intent" in state.read_text()


def test_cli_reports_a_busy_port():
    with stripe_sandbox.start() as s:
        result = subprocess.run(
            [sys.executable, "-m", "stripe_sandbox", "--port", str(s.port)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=20,
        )
    assert result.returncode == 2 and "stripe_sandbox:" in result.stderr


def test_form_decoding_like_the_sdk_sends():
    assert decode_form("a=1&metadata[k]=v&metadata[x]=&expand[0]=b&expand[1]=c&e[]=1&e[]=2") == {
        "a": "1",
        "metadata": {"k": "v", "x": ""},
        "expand": {"0": "b", "1": "c"},
        "e": ["1", "2"],
    }
    assert decode_form("card[number]=4242&billing_details[address][postal_code]=2000") == {
        "card": {"number": "4242"},
        "billing_details": {"address": {"postal_code": "2000"}},
    }
