"""/api/openapi.json is a valid OpenAPI 3.1 document that describes every route that exists."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

Client = TestClient[Any, Any]


async def test_openapi_document_is_valid(client: Client) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    validate(await response.json())


async def test_every_route_is_documented(client: Client) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    served = {
        (route.method, re.sub(r"{(\w+)(:[^}]*)?}", r"{\1}", route.resource.canonical))
        for route in client.app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    assert served == documented


async def test_bodies_and_csrf_are_described(client: Client) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    register = document["paths"]["/api/auth/register"]["post"]
    schema = register["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["email", "password", "name", "role"]
    assert schema["properties"]["role"]["enum"] == ["mentee", "mentor", "both"]
    logout = document["paths"]["/api/auth/logout"]["post"]
    assert any(p["name"] == "X-CSRF-Token" for p in logout["parameters"])
    assert "409" in register["responses"]
