"""Every case of the HTTP bad-input catalogue (http_cases.py): the persona sends it, the answer
is the expected 4xx with its reason, and afterwards every row of every table is as it was and
Stripe was not asked anything."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

import stripe_sandbox
from carecall.payments.tests.bad_input.http_cases import FORM_URL, FORMS, HTTP_CASES, HttpCase
from carecall.payments.tests.bad_input.scene import Scene
from testsupport.db_snapshot import database_snapshot, snapshot_changes


def _filled(values: dict[str, str | None], ids: dict[str, str]) -> dict[str, str]:
    return {k.format(**ids): v.format(**ids) for k, v in values.items() if v is not None}


def _send(scene: Scene, client: Client, case: HttpCase) -> Any:
    ids = scene.ids()
    if case.kind == "form":
        data = {**FORMS[case.target], **case.fields}
        url = scene.url(FORM_URL.get(case.target, case.target))
        return client.post(url, _filled(data, ids))
    if case.kind == "json":
        return client.post(scene.url(case.target), case.body, content_type="application/json")
    return client.get(scene.url(case.target) + "?" + urlencode(_filled(case.fields, ids)))


def _said(response: Any) -> str:
    text = response.content.decode("utf-8", "replace")
    if response.get("Content-Type", "").startswith("application/json"):
        return str(response.json().get("error", ""))
    return html.unescape(text)


def test_the_catalogue_has_at_least_150_cases_with_unique_names() -> None:
    from carecall.payments.tests.bad_input.webhook_cases import WEBHOOK_CASES
    from carecall.payments.tests.bad_input.ws_cases import WS_CASES

    names = [c.id for c in HTTP_CASES] + [c.id for c in WS_CASES] + [c.id for c in WEBHOOK_CASES]
    assert len(names) == len(set(names))
    assert len(names) >= 150


@pytest.mark.parametrize("case", HTTP_CASES, ids=[c.id for c in HTTP_CASES])
def test_bad_input_is_refused_with_a_reason_and_changes_nothing(
    scene: Scene, sandbox: stripe_sandbox.SandboxServer, case: HttpCase
) -> None:
    client = scene.client(case.persona)  # signing in writes last_login: before the snapshot
    before = database_snapshot()
    asked_before = len(sandbox.api_requests())

    response = _send(scene, client, case)

    said = _said(response)
    assert response.status_code == case.status, (response.status_code, said[:2000])
    assert case.says.lower() in said.lower(), said[:4000]
    assert snapshot_changes(before, database_snapshot()) == {}
    assert sandbox.api_requests()[asked_before:] == []
