"""The OpenAPI 3.1 document, built from the same Route list as the router."""

from __future__ import annotations

import re
from typing import Any

from server.http.routes import Route
from server.http.schema import json_schema

_PATH_PARAM = re.compile(r"{(\w+)(?::[^}]*)?}")

_ERROR_TEXT = {
    400: "Bad input; `error.field` names the field",
    401: "Not logged in, or wrong credentials",
    403: "Forbidden, or a missing or wrong CSRF token (`csrf_failed`)",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Body too large",
    415: "The body is not application/json",
    429: "Too many attempts; see Retry-After",
    502: "A service behind this one failed: the payment gateway, or the assistant's model server",
    503: "Unavailable now: the database is busy, full or down (nothing was changed; see "
    "Retry-After), or what the route names",
    504: "The assistant's model server did not answer in time",
}


def error_statuses(route: Route) -> list[int]:
    """Every error status the route can answer: its own, and those the shared layers add."""
    found = set(route.errors)
    found.add(503)  # the database busy, full or down: any route may meet it (errors.py)
    if route.body is not None:
        found |= {400, 413, 415}  # malformed or misfitting JSON, too large, not JSON
    if route.query:
        found.add(400)  # a parameter of the wrong type or out of range
    if _PATH_PARAM.search(route.path):
        found.add(404)  # an id that is not one
    if route.login:
        found.add(401)
    if route.kind == "websocket":
        found.add(400)  # a plain GET without the upgrade
    if route.method not in ("GET", "HEAD") and route.csrf:
        found.add(403)  # csrf_failed
        if route.kind == "redirect":
            found |= {400, 413}  # a form that does not parse, or is too large
    return sorted(found)


_CONTENT_TYPES = {"json": "application/json", "html": "text/html", "text": "text/plain"}


def openapi_document(routes: list[Route], *, server_url: str, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path = _PATH_PARAM.sub(r"{\1}", route.path)
        operation: dict[str, Any] = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": operation_id(route),
            "responses": _responses(route),
        }
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PATH_PARAM.findall(route.path)
        ]
        parameters += [
            {
                "name": q.name,
                "in": "query",
                "required": q.required,
                "description": q.description,
                "schema": {"type": q.type},
            }
            for q in route.query
        ]
        if parameters:
            operation["parameters"] = parameters
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": json_schema(route.body)}},
            }
        if route.login:
            operation["security"] = [{"loginCookie": []}]
        if route.method not in ("GET", "HEAD") and route.csrf and route.kind == "json":
            operation.setdefault("parameters", []).append(
                {
                    "name": "X-CSRF-Token",
                    "in": "header",
                    "required": True,
                    "description": "The csrf_token from /api/auth/login or /api/me",
                    "schema": {"type": "string"},
                }
            )
        paths.setdefault(path, {})[route.method.lower()] = operation
    _add_links(routes, paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "micromentor",
            "version": version,
            "description": "Booking, payments and calls of a micromentor server. Errors are "
            '`{"error": {"code", "message", "field"?}}`; money is integer paise; times UTC.',
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "loginCookie": {"type": "apiKey", "in": "cookie", "name": "micromentor"}
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "field": {"type": "string"},
                                "request_id": {"type": "string"},
                            },
                        }
                    },
                }
            },
        },
    }


def operation_id(route: Route) -> str:
    return f"{route.method.lower()}_{route.handler.__name__}"


def _add_links(routes: list[Route], paths: dict[str, dict[str, Any]]) -> None:
    by_target = {(r.method, _PATH_PARAM.sub(r"{\1}", r.path)): r for r in routes}
    for route in routes:
        if not route.links:
            continue
        path = _PATH_PARAM.sub(r"{\1}", route.path)
        responses = paths[path][route.method.lower()]["responses"]
        for status in (route.status, *route.also_ok):
            links = responses[str(status)].setdefault("links", {})
            for link in route.links:
                target = by_target[(link.method, link.path)]
                links[link.name] = {
                    "operationId": operation_id(target),
                    "parameters": dict(link.parameters),
                }


def _responses(route: Route) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": route.summary}
    if route.kind == "redirect":
        ok = {"description": "Redirects (303) to the next page"}
    elif route.kind == "websocket":
        ok = {"description": "Switches to the WebSocket protocol"}
    elif route.status != 204:
        media = route.media_type or _CONTENT_TYPES[route.kind]
        schema = json_schema(route.response) if route.response else {}
        ok["content"] = {media: {"schema": schema}}
    status = {"redirect": 303, "websocket": 101}.get(route.kind, route.status)
    responses: dict[str, Any] = {str(status): ok}
    for other in route.also_ok:
        responses[str(other)] = ok
    # Errors are JSON under /api; elsewhere an HTML page, or JSON when the client asks for it.
    error_json = {"schema": {"$ref": "#/components/schemas/Error"}}
    error_content = (
        {"application/json": error_json}
        if route.path.startswith("/api/")
        else {"text/html": {"schema": {"type": "string"}}, "application/json": error_json}
    )
    for error in error_statuses(route):
        responses[str(error)] = {
            "description": _ERROR_TEXT.get(error, "Error"),
            "content": error_content,
        }
    return responses
