"""Request body parsing: strict, and every refusal names the field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from server.http.schema import BodyError, json_schema, parse


@dataclass(frozen=True)
class Body:
    name: str = field(metadata={"min_length": 1, "max_length": 5})
    count: int = field(default=1, metadata={"minimum": 1, "maximum": 10})
    kind: Literal["a", "b"] = "a"
    tags: list[str] = field(default_factory=list, metadata={"max_items": 2})
    note: str | None = None
    flag: bool = False


def test_parse_accepts_a_good_body() -> None:
    body = parse(Body, {"name": "x", "count": 3, "kind": "b", "tags": ["t"], "note": None})
    assert body == Body(name="x", count=3, kind="b", tags=["t"], note=None)


@pytest.mark.parametrize(
    ("data", "field_name", "message"),
    [
        ({}, "name", "is required"),
        ({"name": 5}, "name", "must be a string"),
        ({"name": ""}, "name", "must not be empty"),
        ({"name": "toolong"}, "name", "at most 5"),
        ({"name": "x", "count": "3"}, "count", "must be an integer"),
        ({"name": "x", "count": True}, "count", "must be an integer"),
        ({"name": "x", "count": 11}, "count", "at most 10"),
        ({"name": "x", "kind": "c"}, "kind", "one of 'a', 'b'"),
        ({"name": "x", "tags": "t"}, "tags", "must be a list"),
        ({"name": "x", "tags": ["a", "b", "c"]}, "tags", "at most 2 items"),
        ({"name": "x", "tags": ["a", 1]}, "tags[1]", "must be a string"),
        ({"name": "x", "flag": 1}, "flag", "true or false"),
        ({"name": "x", "extra": 1}, "extra", "unknown field"),
    ],
)
def test_parse_names_the_bad_field(data: dict[str, object], field_name: str, message: str) -> None:
    with pytest.raises(BodyError) as caught:
        parse(Body, data)
    assert caught.value.field == field_name
    assert message in caught.value.message


def test_parse_refuses_a_body_that_is_not_an_object() -> None:
    with pytest.raises(BodyError) as caught:
        parse(Body, ["name"])
    assert caught.value.field is None


def test_json_schema_matches_the_dataclass() -> None:
    schema = json_schema(Body)
    assert schema["required"] == ["name"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["name"] == {"type": "string", "minLength": 1, "maxLength": 5}
    assert props["kind"] == {"type": "string", "enum": ["a", "b"]}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "maxItems": 2}
    assert props["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
