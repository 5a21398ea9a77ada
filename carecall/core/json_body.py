"""JSON request bodies, checked against a declared schema (a `msgspec.Struct`) before any use.

One call, `json_body_decode`, for every JSON endpoint: the body is decoded by msgspec straight
into the endpoint's schema, strictly — a list where text is declared is refused, not turned into
"['a', 'b']"; a number where text is declared is refused, not coerced; unknown fields are refused;
numbers beyond 64 bits, invalid UTF-8, lone surrogates and malformed JSON are refused by the
decoder itself (it never builds Python ints from thousands of digits, and a deeply nested value
fails at its first level against a flat schema, so neither costs anything). Then every text field
is checked for control characters (`carecall.core.text`). A refusal is a `BodyError` whose
message says why and whose `field` names the field, for the view's 400.

Why msgspec rather than pydantic: it decodes and validates in one pass from bytes, is several
times faster (the websocket path has latency targets; see bench/README.md), and exports JSON
Schema (`msgspec.json.schema_components`) for the JavaScript.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, TypeVar, get_args, get_origin

import msgspec
from django.utils.translation import gettext as _

from carecall.core.text import has_control_characters, text_has_control

S = TypeVar("S", bound=msgspec.Struct)


class BodySchema(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every JSON body schema: strict, no unknown fields. `MULTILINE` names the text
    fields that may hold line breaks (every other text field refuses them with the other
    control characters)."""

    MULTILINE: ClassVar[frozenset[str]] = frozenset()


class BodyError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_NAMED = re.compile(r"field `(?P<name>[^`]*)`")
_FIRST = re.compile(r"^\.?(?P<name>[^.\[]+)")
SHOWN = 40


def _shown(name: str) -> str:
    """A field name from the body, safe to say back: control characters as \ufffd, cut short."""
    clean = "".join("\ufffd" if has_control_characters(c) else c for c in name[: SHOWN + 1])
    return clean if len(clean) <= SHOWN else clean[:SHOWN] + "…"


def _kind(annotation: Any) -> str:
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if annotation is str:
        return _("text")
    if annotation is bool:
        return _("true or false")
    if annotation is int:
        return _("a whole number")
    return _("a value of another type")


def _declared(schema: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    return {f.encode_name: f for f in msgspec.structs.fields(schema)}


def _refusal(schema: type[msgspec.Struct], error: msgspec.ValidationError) -> BodyError:
    text = str(error)
    at = _AT.search(text)
    path = at.group("path") if at else ""
    first = _FIRST.match(path)
    if first is None:  # about the body as a whole
        named = _NAMED.search(text)
        if text.startswith("Object missing required field") and named:
            name = named.group("name")
            return BodyError(_("The field %(field)s is missing.") % {"field": name}, field=name)
        if text.startswith("Object contains unknown field") and named:
            name = _shown(named.group("name"))
            return BodyError(_("Unknown field %(field)s.") % {"field": name}, field=name)
        return BodyError(_("The request body must be a JSON object."))
    name = first.group("name")
    declared = _declared(schema).get(name)
    if declared is None:  # pragma: no cover - msgspec names only declared fields here
        return BodyError(_("Unknown field %(field)s.") % {"field": _shown(name)}, field=name)
    return BodyError(
        _("%(field)s must be %(kind)s.") % {"field": name, "kind": _kind(declared.type)},
        field=name,
    )


def json_body_decode(body: bytes, *, content_type: str, schema: type[S]) -> S:
    """The body as `schema`, or BodyError. An empty body is `{}` (endpoints without fields
    take no body); anything else must be sent as application/json."""
    if not body:
        body = b"{}"
    elif content_type != "application/json":
        raise BodyError(_("Send the request body as JSON (Content-Type: application/json)."))
    try:
        data = msgspec.json.decode(body, type=schema, strict=True)
    except msgspec.ValidationError as error:
        raise _refusal(schema, error) from None
    except msgspec.DecodeError as error:
        if "UTF-8" in str(error):
            raise BodyError(_("The request body is not valid UTF-8.")) from None
        raise BodyError(_("The request body is not valid JSON.")) from None
    multiline: frozenset[str] = getattr(schema, "MULTILINE", frozenset())
    for name, declared in _declared(schema).items():
        value = getattr(data, declared.name)
        if isinstance(value, str) and text_has_control(value, multiline=name in multiline):
            raise BodyError(
                _(
                    "%(field)s: remove the control characters (invisible characters that "
                    "came with a paste)."
                )
                % {"field": name},
                field=name,
            )
    return data


def json_schema(*schemas: type[msgspec.Struct]) -> dict[str, Any]:
    """JSON Schema (2020-12) of the given bodies, for the JavaScript and its type checks."""
    refs, components = msgspec.json.schema_components(schemas, ref_template="#/$defs/{name}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": components,
        "anyOf": refs,
    }
