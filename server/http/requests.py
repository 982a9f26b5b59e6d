"""Reading a request: the JSON body into a dataclass, the query string, path ids, the client."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web

from server.http.errors import ApiError, read_json
from server.http.schema import BodyError, parse, parse_query

T = TypeVar("T")


async def read_body(request: web.Request, cls: type[T]) -> T:
    """The JSON body parsed into `cls`; a 400 naming the field when it does not fit."""
    data = await read_json(request)
    try:
        return parse(cls, data)
    except BodyError as exc:
        raise ApiError(400, "invalid_field", exc.message, field=exc.field) from None


def query_of(request: web.Request, cls: type[T]) -> T:
    """The query string parsed into `cls`; a 400 naming the parameter when it does not fit."""
    try:
        parsed: T = parse_query(cls, request.query)
    except BodyError as exc:
        raise ApiError(400, "invalid_field", exc.message, exc.field) from None
    return parsed


def path_id(request: web.Request, name: str) -> int:
    """An integer id from the path; a 404 when it is not one."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ApiError(404, "not_found", "not found") from None


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"
