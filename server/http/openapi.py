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
    403: "Forbidden, or a missing or wrong CSRF token",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Body too large",
    415: "The body is not application/json",
    429: "Too many attempts; see Retry-After",
    503: "Unavailable",
}

_CONTENT_TYPES = {"json": "application/json", "html": "text/html", "text": "text/plain"}


def openapi_document(routes: list[Route], *, server_url: str, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path = _PATH_PARAM.sub(r"{\1}", route.path)
        operation: dict[str, Any] = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": f"{route.method.lower()}_{route.handler.__name__}",
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


def _responses(route: Route) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": route.summary}
    if route.kind == "redirect":
        ok = {"description": "Redirects (303) to the next page"}
    elif route.kind == "websocket":
        ok = {"description": "Switches to the WebSocket protocol"}
    elif route.status != 204:
        media = _CONTENT_TYPES[route.kind]
        schema = json_schema(route.response) if route.response else {}
        ok["content"] = {media: {"schema": schema}}
    status = {"redirect": 303, "websocket": 101}.get(route.kind, route.status)
    responses: dict[str, Any] = {str(status): ok}
    for status in route.errors:
        responses[str(status)] = {
            "description": _ERROR_TEXT.get(status, "Error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return responses
