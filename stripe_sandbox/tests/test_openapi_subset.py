"""The stored part of Stripe's spec: complete for what the contract tests read, and cut by a
script that keeps exactly what is reachable."""

from __future__ import annotations

from typing import Any

import pytest

from stripe_sandbox.api import ROUTES
from stripe_sandbox.openapi import SUBSET
from stripe_sandbox.openapi.extract import EVENT_OBJECTS, refs_in, spec_subset


def test_the_stored_subset_has_every_route_and_every_schema_it_points_at(openapi):
    for route in ROUTES:
        assert route.method in openapi["paths"][route.path], f"{route.method} {route.path}"
    schemas = openapi["components"]["schemas"]
    assert set(EVENT_OBJECTS) <= set(schemas)
    dangling = {name for name in refs_in(openapi) if name not in schemas}
    assert dangling == set()


def test_the_stored_subset_sits_beside_stripes_mit_licence():
    licence = (SUBSET.parent / "LICENSE").read_text(encoding="utf-8")
    assert "The MIT License" in licence and "Stripe, Inc." in licence


def _spec() -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/charge"}
    return {
        "openapi": "3.0.0",
        "info": {"version": "2023-08-16"},
        "paths": {
            "/v1/charges/{charge}": {
                "get": {"summary": "Retrieve", "responses": {"200": {"schema": ref}}},
                "post": {"responses": {"200": {"schema": {"$ref": "#/components/schemas/x"}}}},
            },
            "/v1/customers": {"get": {"responses": {}}},
        },
        "components": {
            "schemas": {
                "charge": {
                    "description": "A charge.",
                    "properties": {
                        "description": {"type": "string", "description": "Shown to users."},
                        "refunds": {
                            "anyOf": [{"type": "string"}, {"$ref": "#/components/schemas/refund"}]
                        },
                    },
                },
                "refund": {"properties": {"charge": ref}},
                "customer": {"properties": {}},
                "x": {},
                "application": {"properties": {}},
            }
        },
    }


def test_extract_keeps_the_named_operations_and_what_they_reach_and_drops_prose():
    subset = spec_subset(
        _spec(), operations=[("/v1/charges/{charge}", "get")], objects=["application"]
    )
    assert subset["paths"] == {
        "/v1/charges/{charge}": {
            "get": {"responses": {"200": {"schema": {"$ref": "#/components/schemas/charge"}}}}
        }
    }
    schemas = subset["components"]["schemas"]
    assert set(schemas) == {"charge", "refund", "application"}
    assert schemas["charge"] == {
        "properties": {
            "description": {"type": "string"},
            "refunds": {"anyOf": [{"type": "string"}, {"$ref": "#/components/schemas/refund"}]},
        }
    }


def test_extract_refuses_an_operation_or_schema_the_spec_lacks():
    with pytest.raises(KeyError, match="POST /v1/customers"):
        spec_subset(_spec(), operations=[("/v1/customers", "post")], objects=[])
    with pytest.raises(KeyError, match="schema 'balance'"):
        spec_subset(_spec(), operations=[], objects=["balance"])
