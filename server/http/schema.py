"""Request bodies as frozen dataclasses: strict parsing, and the JSON Schema OpenAPI shows.

A field's metadata may carry `min_length`, `max_length`, `minimum`, `maximum`, `max_items`,
`format` and `description`. Parsing refuses unknown fields and wrong types, naming the field.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal, TypeVar, get_args, get_origin

T = TypeVar("T")
# Integers must fit the database's BIGINT; a larger one is bad input, not an overflow later.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


class BodyError(Exception):
    """The body does not fit its schema; `field` names the offending field (None: the body)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def parse(cls: type[T], data: Any) -> T:
    if not isinstance(data, dict):
        raise BodyError(None, "the body must be a JSON object")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in data:
        if key not in fields:
            raise BodyError(str(key), f"unknown field (expected {', '.join(fields)})")
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in data:
            if (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                raise BodyError(name, "is required")
            continue
        values[name] = _check(hints[name], data[name], name, field.metadata)
    return cls(**values)


def _check(kind: Any, value: Any, name: str, meta: typing.Mapping[str, Any]) -> Any:
    origin = get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in get_args(kind) if k is not type(None)]
        if value is None:
            return None
        return _check(options[0], value, name, meta)
    if origin is Literal:
        choices = get_args(kind)
        if value not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise BodyError(name, f"must be one of {allowed}")
        return value
    if origin in (list, tuple):
        (item_kind, *_rest) = get_args(kind)
        if not isinstance(value, list):
            raise BodyError(name, "must be a list")
        if "max_items" in meta and len(value) > meta["max_items"]:
            raise BodyError(name, f"must have at most {meta['max_items']} items")
        items = [_check(item_kind, v, f"{name}[{i}]", {}) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if kind is bool:
        if not isinstance(value, bool):
            raise BodyError(name, "must be true or false")
        return value
    if kind is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise BodyError(name, "must be a number")
        if not math.isfinite(value):
            raise BodyError(name, "must be a finite number")
        if "minimum" in meta and value < meta["minimum"]:
            raise BodyError(name, f"must be at least {meta['minimum']}")
        return float(value)
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise BodyError(name, "must be an integer")
        if not INT_MIN <= value <= INT_MAX:
            raise BodyError(name, "is out of range")
        if "minimum" in meta and value < meta["minimum"]:
            raise BodyError(name, f"must be at least {meta['minimum']}")
        if "maximum" in meta and value > meta["maximum"]:
            raise BodyError(name, f"must be at most {meta['maximum']}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise BodyError(name, "must be a string")
        check_text(value, name)
        if "min_length" in meta and len(value) < meta["min_length"]:
            least = meta["min_length"]
            raise BodyError(
                name, "must not be empty" if least == 1 else f"must be at least {least} characters"
            )
        if "max_length" in meta and len(value) > meta["max_length"]:
            raise BodyError(name, f"must be at most {meta['max_length']} characters")
        return value
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        try:
            return parse(kind, value)
        except BodyError as exc:
            inner = f"{name}.{exc.field}" if exc.field else name
            raise BodyError(inner, exc.message) from None
    raise TypeError(f"schema: unsupported type {kind!r} for {name}")


def check_text(value: str, name: str) -> None:
    """Text the database and every page can hold: valid Unicode (no lone surrogates) and no
    NUL characters (PostgreSQL refuses them)."""
    if "\x00" in value:
        raise BodyError(name, "must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BodyError(name, "must be valid Unicode text") from None


def json_schema(cls: type) -> dict[str, Any]:
    """The JSON Schema (OpenAPI 3.1 dialect) of a body or response dataclass."""
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in dataclasses.fields(cls):
        properties[field.name] = _schema_of(hints[field.name], field.metadata)
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            required.append(field.name)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


_META_TO_SCHEMA = {
    "min_length": "minLength",
    "max_length": "maxLength",
    "minimum": "minimum",
    "maximum": "maximum",
    "max_items": "maxItems",
    "format": "format",
    "description": "description",
}


def _schema_of(kind: Any, meta: typing.Mapping[str, Any]) -> dict[str, Any]:
    origin = get_origin(kind)
    extra = {_META_TO_SCHEMA[k]: v for k, v in meta.items() if k in _META_TO_SCHEMA}
    if origin in (typing.Union, types.UnionType):
        options = [k for k in get_args(kind) if k is not type(None)]
        inner = _schema_of(options[0], meta)
        return {"anyOf": [inner, {"type": "null"}]}
    if origin is Literal:
        return {"type": "string", "enum": list(get_args(kind)), **extra}
    if origin in (list, tuple):
        return {"type": "array", "items": _schema_of(get_args(kind)[0], {}), **extra}
    if dataclasses.is_dataclass(kind):
        return json_schema(kind)  # type: ignore[arg-type]
    simple = {bool: "boolean", int: "integer", str: "string", float: "number"}
    if kind in simple:
        return {"type": simple[kind], **extra}
    raise TypeError(f"schema: unsupported type {kind!r}")


def parse_query(cls: type[T], query: typing.Mapping[str, str]) -> T:
    """Query-string parameters into `cls`: text converted by each field's type, then checked."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    data: dict[str, Any] = {}
    for key, text in query.items():
        if key not in names or text == "":
            continue  # unknown ones are ignored (trackers add some); empty ones mean "any"
        kind = hints[key]
        options = [k for k in get_args(kind) if k is not type(None)]
        base = options[0] if get_origin(kind) in (typing.Union, types.UnionType) else kind
        try:
            data[key] = int(text) if base is int else float(text) if base is float else text
        except ValueError:
            raise BodyError(key, f"must be {'an integer' if base is int else 'a number'}") from None
    return parse(cls, data)
