"""Stripe's form encoding (`metadata[k]=v`, `expand[0]=x`) and the declared parameters of each
endpoint.

Every endpoint declares its parameters as a `Schema`; requests are checked against it (unknown
names, wrong types, missing required ones) before anything else happens, and the contract tests
compare the same declarations with Stripe's OpenAPI spec, so the two cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from .errors import StripeError, parameter_missing, parameter_unknown

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_INT = re.compile(r"^-?\d+$")


def decode_form(body: str) -> dict[str, Any]:
    """`a[b][0]=x&a[c]=y&e[]=1` -> {"a": {"b": {"0": "x"}, "c": "y"}, "e": ["1"]}."""
    out: dict[str, Any] = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True):
        m = _KEY.match(raw_key)
        if not m:
            raise StripeError(f"Invalid parameter name: {raw_key}", param=raw_key)
        path = [m.group(1), *re.findall(r"\[([^\[\]]*)\]", m.group(2))]
        node: Any = out
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, list):
                if last:
                    node.append(value)
                else:
                    node.append({})
                    node = node[-1]
                continue
            if last:
                if part in node and isinstance(node[part], dict | list):
                    raise StripeError(f"Invalid hash for {raw_key}", param=raw_key)
                node[part] = value
                continue
            nxt = "" if path[i + 1] == "" else "{}"
            existing = node.get(part)
            if existing is None:
                node[part] = [] if nxt == "" else {}
            elif not isinstance(existing, dict | list):
                raise StripeError(f"Invalid hash for {raw_key}", param=raw_key)
            node = node[part]
    return out


@dataclass(frozen=True)
class Param:
    """One declared parameter. `kind` is string | integer | boolean | enum | object | map |
    array | range (an integer or {gt,gte,lt,lte}, as list filters take)."""

    kind: str
    required: bool = False
    enum: tuple[str, ...] = ()
    props: dict[str, Param] = field(default_factory=dict)
    items: Param | None = None
    max_length: int = 5000
    # update endpoints let an empty string clear a field (`description=`)
    emptyable: bool = False


Schema = dict[str, Param]


def S(*, required: bool = False, max_length: int = 5000, emptyable: bool = False) -> Param:
    return Param("string", required=required, max_length=max_length, emptyable=emptyable)


def I(*, required: bool = False, emptyable: bool = False) -> Param:  # noqa: E743 - reads like the spec
    return Param("integer", required=required, emptyable=emptyable)


def B(*, required: bool = False) -> Param:
    return Param("boolean", required=required)


def E(*values: str, required: bool = False) -> Param:
    return Param("enum", required=required, enum=values)


def O(*, required: bool = False, **props: Param) -> Param:  # noqa: E743
    return Param("object", required=required, props=props)


def M(*, emptyable: bool = False) -> Param:
    """Metadata; on updates `metadata=""` clears every key."""
    return Param("map", max_length=500, emptyable=emptyable)


def A(items: Param) -> Param:
    return Param("array", items=items)


def R() -> Param:
    return Param("range")


EXPAND = A(S())


def validate(values: dict[str, Any], schema: Schema, prefix: str = "") -> dict[str, Any]:
    """Return the parameters coerced to Python types, or raise Stripe's error for the first
    problem; nothing has been changed when this raises."""
    out: dict[str, Any] = {}
    for name, raw in values.items():
        full = f"{prefix}[{name}]" if prefix else name
        spec = schema.get(name)
        if spec is None:
            raise parameter_unknown(full)
        out[name] = _coerce(raw, spec, full)
    for name, spec in schema.items():
        if spec.required and name not in values:
            raise parameter_missing(f"{prefix}[{name}]" if prefix else name)
    return out


def _coerce(raw: Any, spec: Param, name: str) -> Any:
    if spec.emptyable and raw == "":
        return ""
    if spec.kind in {"string", "integer", "boolean", "enum"} and not isinstance(raw, str):
        raise StripeError(f"Invalid {spec.kind}: {_show(raw)}", param=name)
    if spec.kind == "string":
        if len(raw) > spec.max_length:
            raise StripeError(
                f"Invalid string: {raw[:20]}...; must be at most {spec.max_length} characters",
                param=name,
            )
        return raw
    if spec.kind == "integer":
        if not _INT.match(raw):
            raise StripeError(
                f"Invalid integer: {raw}", code="parameter_invalid_integer", param=name
            )
        return int(raw)
    if spec.kind == "boolean":
        if raw not in {"true", "false"}:
            raise StripeError(f"Invalid boolean: {raw}", param=name)
        return raw == "true"
    if spec.kind == "enum":
        if raw not in spec.enum:
            raise StripeError(f"Invalid {name}: must be one of {', '.join(spec.enum)}", param=name)
        return raw
    if spec.kind == "object":
        if not isinstance(raw, dict):
            raise StripeError(f"Invalid object: {_show(raw)}", param=name)
        return validate(raw, spec.props, name)
    if spec.kind == "map":
        if not isinstance(raw, dict) or any(not isinstance(v, str) for v in raw.values()):
            raise StripeError(f"Invalid object: {_show(raw)}", param=name)
        if len(raw) > 50:
            raise StripeError("Metadata can have at most 50 keys.", param=name)
        for k, v in raw.items():
            if len(k) > 40:
                raise StripeError(
                    f"Metadata key length can't exceed 40 characters: {k}", param=f"{name}[{k}]"
                )
            if len(v) > spec.max_length:
                raise StripeError(
                    f"Metadata values can have up to {spec.max_length} characters.",
                    param=f"{name}[{k}]",
                )
        return dict(raw)
    if spec.kind == "array":
        assert spec.items is not None
        if isinstance(raw, dict) and all(k.isdigit() for k in raw):
            raw = [raw[k] for k in sorted(raw, key=int)]
        if not isinstance(raw, list):
            raise StripeError(f"Invalid array: {_show(raw)}", param=name)
        return [_coerce(v, spec.items, f"{name}[{i}]") for i, v in enumerate(raw)]
    if spec.kind == "range":
        if isinstance(raw, str):
            return _coerce(raw, I(), name)
        if not isinstance(raw, dict):
            raise StripeError(f"Invalid range: {_show(raw)}", param=name)
        return validate(raw, {"gt": I(), "gte": I(), "lt": I(), "lte": I()}, name)
    raise AssertionError(spec.kind)


def _show(raw: Any) -> str:
    return repr(raw) if not isinstance(raw, str) else raw
