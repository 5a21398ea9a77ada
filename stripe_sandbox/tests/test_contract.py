"""The sandbox against Stripe's published OpenAPI spec (2023-08-16).

1. Every parameter an endpoint accepts exists in the spec for that operation, with a
   compatible type (recursively).
2. Driving every endpoint with the official SDK, each response - objects, lists and errors -
   has the spec's required fields and the spec's types, and no field the spec lacks.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import stripe

from stripe_sandbox import HARBOUR_GP_ACCOUNT_ID
from stripe_sandbox.api import ROUTES
from stripe_sandbox.params import Param
from stripe_sandbox.tests.helpers import HARBOUR


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def spec_params(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    op = spec["paths"][path][method]
    if method == "get":
        return {p["name"]: p["schema"] for p in op.get("parameters", []) if p["in"] == "query"}
    body = op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    return body.get("properties", {})


def param_problems(
    spec: dict[str, Any], name: str, ours: Param, theirs: dict[str, Any]
) -> list[str]:
    theirs = resolve(spec, theirs)
    if ours.kind == "range":
        ints = any(resolve(spec, b).get("type") == "integer" for b in theirs.get("anyOf", []))
        objs = any(
            {"gt", "gte", "lt", "lte"} <= set(resolve(spec, b).get("properties", {}))
            for b in theirs.get("anyOf", [])
        )
        return [] if ints and objs else [f"{name}: range vs {theirs}"]
    if "anyOf" in theirs:
        plain = dataclasses.replace(ours, emptyable=False)  # "" is checked at this level
        branches = [param_problems(spec, name, plain, b) for b in theirs["anyOf"]]
        if (
            ours.emptyable
            and ours.kind != "string"
            and not any(resolve(spec, b).get("enum") == [""] for b in theirs["anyOf"])
        ):
            return [f"{name}: we accept an empty string, the spec does not"]
        if any(not b for b in branches):
            return []
        return [f"{name}: no anyOf branch fits: {branches}"]
    if ours.emptyable and ours.kind not in ("string",):
        return [f"{name}: we accept an empty string, the spec does not"]
    kind = theirs.get("type")
    if ours.kind == "string":
        return [] if kind == "string" and "enum" not in theirs else [f"{name}: string vs {theirs}"]
    if ours.kind == "integer":
        return [] if kind == "integer" else [f"{name}: integer vs {kind}"]
    if ours.kind == "boolean":
        return [] if kind == "boolean" else [f"{name}: boolean vs {kind}"]
    if ours.kind == "enum":
        if kind != "string" or not set(ours.enum) <= set(theirs.get("enum", ())):
            return [f"{name}: enum {ours.enum} vs {theirs.get('enum')}"]
        return []
    if ours.kind == "map":
        ok = kind == "object" and isinstance(theirs.get("additionalProperties"), dict)
        return [] if ok else [f"{name}: map vs {theirs}"]
    if ours.kind == "array":
        assert ours.items is not None
        if kind != "array":
            return [f"{name}: array vs {kind}"]
        return param_problems(spec, f"{name}[]", ours.items, theirs["items"])
    if ours.kind == "object":
        if kind != "object" or "properties" not in theirs:
            return [f"{name}: object vs {theirs}"]
        problems = []
        for sub, p in ours.props.items():
            if sub not in theirs["properties"]:
                problems.append(f"{name}[{sub}]: not in the spec")
            else:
                problems += param_problems(spec, f"{name}[{sub}]", p, theirs["properties"][sub])
        return problems
    return [f"{name}: unknown kind {ours.kind}"]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method.upper()} {r.path}")
def test_every_accepted_parameter_is_in_the_spec(openapi, route):
    assert route.path in openapi["paths"], f"{route.path} is not a Stripe endpoint"
    theirs = spec_params(openapi, route.path, route.method)
    problems = []
    for name, ours in route.schema.items():
        if name not in theirs:
            problems.append(f"{name}: not a parameter of {route.method.upper()} {route.path}")
        else:
            problems += param_problems(openapi, name, ours, theirs[name])
    assert problems == []


def test_contract_checker_catches_mismatches(openapi):
    """The checks above can fail: a made-up parameter and a wrong type are reported."""
    from stripe_sandbox.params import I, S

    theirs = spec_params(openapi, "/v1/payment_intents", "post")
    assert param_problems(openapi, "amount", S(), theirs["amount"])
    assert param_problems(openapi, "description", I(), theirs["description"])
    assert not param_problems(openapi, "amount", I(), theirs["amount"])
    bad = shape_problems(
        openapi, {"id": 1, "object": "refund"}, {"$ref": "#/components/schemas/refund"}
    )
    assert any("missing amount" in p for p in bad) and any(".id" in p for p in bad)


# -- responses -------------------------------------------------------------------------------
def shape_problems(
    spec: dict[str, Any], value: Any, schema: dict[str, Any], at: str = ""
) -> list[str]:
    schema = resolve(spec, schema)
    if value is None:
        return [] if schema.get("nullable") else [f"{at}: null where the spec says not nullable"]
    if "anyOf" in schema:
        branches = [shape_problems(spec, value, b, at) for b in schema["anyOf"]]
        return [] if any(not b for b in branches) else min(branches, key=len)
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        return [f"{at}: {value!r} not in {schema['enum']}"]
    if kind == "string":
        return [] if isinstance(value, str) else [f"{at}: {value!r} is not a string"]
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{at}: {value!r} is not an integer"]
    if kind == "number":
        return [] if isinstance(value, int | float) else [f"{at}: {value!r} is not a number"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{at}: {value!r} is not a boolean"]
    if kind == "array":
        if not isinstance(value, list):
            return [f"{at}: not an array"]
        return [
            p
            for i, v in enumerate(value)
            for p in shape_problems(spec, v, schema["items"], f"{at}[{i}]")
        ]
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            return [f"{at}: not an object"]
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        problems = [f"{at}: missing {r}" for r in schema.get("required", []) if r not in value]
        for key, v in value.items():
            if key in props:
                problems += shape_problems(spec, v, props[key], f"{at}.{key}")
            elif isinstance(extra, dict):
                problems += shape_problems(spec, v, extra, f"{at}.{key}")
            elif props and extra is not True:
                problems.append(f"{at}.{key}: not in the spec")
        return problems
    return []


def response_schema(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    responses = spec["paths"][path][method]["responses"]
    chosen = responses.get(str(status)) or responses["default"]
    return chosen["content"]["application/json"]["schema"]


class Recorder:
    """Collects (route, status, body) of every SDK call made through `call`."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int, Any]] = []

    def call(self, method: str, path: str, fn, *args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except stripe.StripeError as e:
            assert e.json_body is not None and e.http_status is not None
            self.seen.append((method, path, e.http_status, e.json_body))
            return e
        self.seen.append((method, path, 200, result.last_response.data))
        return result


def test_sdk_drives_every_endpoint_and_answers_match_the_spec(openapi, connected, client):
    rec = Recorder()
    pis, pms, refunds = client.v1.payment_intents, client.v1.payment_methods, client.v1.refunds
    P, PI_ID = "/v1/payment_intents", "/v1/payment_intents/{intent}"
    pi = rec.call(
        "post",
        P,
        pis.create,
        {
            "amount": 4500,
            "currency": "aud",
            "description": "Consultation",
            "receipt_email": "pat@example.com",
            "metadata": {"k": "v"},
            "statement_descriptor_suffix": "HARBOUR",
            "application_fee_amount": 100,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        },
        HARBOUR,
    )
    rec.call("post", P, pis.create, {"amount": 10, "currency": "aud"}, HARBOUR)
    rec.call("post", P, pis.create, {"amount": 100, "currency": "aud", "nope": 1}, HARBOUR)
    rec.call("get", P, pis.list, {"limit": 2, "expand": ["data.latest_charge"]}, HARBOUR)
    rec.call("get", P, pis.list, {"limit": 500}, HARBOUR)
    rec.call("get", PI_ID, pis.retrieve, pi.id, {"expand": ["payment_method"]}, HARBOUR)
    rec.call("get", PI_ID, pis.retrieve, "pi_missing", None, HARBOUR)
    rec.call(
        "post", PI_ID, pis.update, pi.id, {"description": "Follow-up", "metadata": ""}, HARBOUR
    )
    rec.call("post", PI_ID, pis.update, pi.id, {"currency": "zzz"}, HARBOUR)
    pm = rec.call(
        "post",
        "/v1/payment_methods",
        pms.create,
        {
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"},
            "billing_details": {"email": "pat@example.com", "address": {"postal_code": "2000"}},
            "metadata": {"a": "b"},
        },
        HARBOUR,
    )
    rec.call(
        "post",
        "/v1/payment_methods",
        pms.create,
        {"type": "card", "card": {"number": "4242424242424241", "exp_month": 12, "exp_year": 2040}},
        HARBOUR,
    )
    rec.call("get", "/v1/payment_methods/{payment_method}", pms.retrieve, pm.id, None, HARBOUR)
    rec.call("get", "/v1/payment_methods/{payment_method}", pms.retrieve, "pm_nope", None, HARBOUR)
    confirm = "/v1/payment_intents/{intent}/confirm"
    rec.call(
        "post", confirm, pis.confirm, pi.id, {"payment_method": "pm_card_chargeDeclined"}, HARBOUR
    )
    rec.call("get", PI_ID, pis.retrieve, pi.id, None, HARBOUR)  # with last_payment_error
    three_ds = rec.call("post", P, pis.create, {"amount": 900, "currency": "aud"}, HARBOUR)
    rec.call(
        "post",
        confirm,
        pis.confirm,
        three_ds.id,
        {"payment_method": "pm_card_threeDSecure2Required"},
        HARBOUR,
    )
    done = rec.call(
        "post",
        confirm,
        pis.confirm,
        pi.id,
        {
            "payment_method": pm.id,
            "receipt_email": "pat@example.com",
            "return_url": "https://carecall.test/done",
            "expand": ["latest_charge"],
        },
        HARBOUR,
    )
    rec.call("post", confirm, pis.confirm, pi.id, {"payment_method": "pm_card_visa"}, HARBOUR)
    cancel = "/v1/payment_intents/{intent}/cancel"
    rec.call("post", cancel, pis.cancel, three_ds.id, {"cancellation_reason": "abandoned"}, HARBOUR)
    rec.call("post", cancel, pis.cancel, pi.id, None, HARBOUR)
    rec.call(
        "get",
        "/v1/charges/{charge}",
        client.v1.charges.retrieve,
        done.latest_charge.id,
        {"expand": ["payment_intent"]},
        HARBOUR,
    )
    rec.call("get", "/v1/charges/{charge}", client.v1.charges.retrieve, "ch_nope", None, HARBOUR)
    refund = rec.call(
        "post",
        "/v1/refunds",
        refunds.create,
        {
            "payment_intent": pi.id,
            "amount": 1000,
            "reason": "requested_by_customer",
            "metadata": {"by": "admin"},
        },
        HARBOUR,
    )
    rec.call(
        "post", "/v1/refunds", refunds.create, {"payment_intent": pi.id, "amount": 99999}, HARBOUR
    )
    rec.call("get", "/v1/refunds", refunds.list, {"payment_intent": pi.id, "limit": 5}, HARBOUR)
    rec.call(
        "get", "/v1/refunds/{refund}", refunds.retrieve, refund.id, {"expand": ["charge"]}, HARBOUR
    )
    rec.call("get", "/v1/refunds/{refund}", refunds.retrieve, "re_nope", None, HARBOUR)
    rec.call("get", "/v1/account", client.v1.accounts.retrieve_current, None, HARBOUR)
    rec.call("get", "/v1/accounts/{account}", client.v1.accounts.retrieve, HARBOUR_GP_ACCOUNT_ID)
    rec.call("get", "/v1/accounts/{account}", client.v1.accounts.retrieve, "acct_1Unknown000000")
    events = rec.call(
        "get",
        "/v1/events",
        client.v1.events.list,
        {"limit": 100, "type": "payment_intent.*", "created": {"gte": 0}, "delivery_success": True},
        HARBOUR,
    )
    rec.call("get", "/v1/events", client.v1.events.list, {"types": ["charge.refunded"]}, HARBOUR)
    rec.call("get", "/v1/events/{id}", client.v1.events.retrieve, events.data[0].id, None, HARBOUR)
    rec.call("get", "/v1/events/{id}", client.v1.events.retrieve, "evt_nope", None, HARBOUR)
    all_events = client.v1.events.list({"limit": 100}, HARBOUR)

    exercised = {(m, p) for m, p, _, _ in rec.seen}
    assert exercised == {(r.method, r.path) for r in ROUTES}, "every route is driven"
    statuses = {s for _, _, s, _ in rec.seen}
    assert {200, 400, 402, 403, 404} <= statuses, "errors are driven too"
    problems = []
    for method, path, status, body in rec.seen:
        schema = response_schema(openapi, path, method, status)
        problems += [
            f"{method.upper()} {path} {status}{p}" for p in shape_problems(openapi, body, schema)
        ]
    # objects inside events are checked against their own type's schema
    for event in all_events.last_response.data["data"]:
        obj = event["data"]["object"]
        kind = obj["object"]
        schema = {"$ref": f"#/components/schemas/{kind}"}
        problems += [f"event {event['type']}{p}" for p in shape_problems(openapi, obj, schema)]
    assert problems == []
