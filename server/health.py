"""Operations endpoints: /healthz and the OpenAPI document."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from server.db import Database
from server.routes import ROUTES, Route, openapi_document

DATABASE = web.AppKey("database", Database)
PUBLIC_URL = web.AppKey("public_url", str)
VERSION = "0.1.0"
log = logging.getLogger("micromentor.health")


@dataclass(frozen=True)
class Health:
    status: str
    database: str


async def healthz(request: web.Request) -> web.Response:
    try:
        await request.app[DATABASE].ping()
    except Exception as exc:
        log.warning("health check: database unavailable: %s", exc)
        return web.json_response({"status": "unavailable", "database": "unavailable"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


async def openapi(request: web.Request) -> web.Response:
    document = openapi_document(
        request.app[ROUTES], server_url=request.app[PUBLIC_URL], version=VERSION
    )
    return web.json_response(document)


HEALTH_ROUTES = [
    Route(
        "GET",
        "/healthz",
        healthz,
        "200 when the database answers",
        "operations",
        response=Health,
        errors=(503,),
    ),
    Route("GET", "/api/openapi.json", openapi, "This OpenAPI document", "operations"),
]
