"""Operations endpoints: /healthz and the OpenAPI document."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from server.calls.service import CALLS
from server.config import CONFIG
from server.db.engine import DATABASE
from server.http.openapi import openapi_document
from server.http.routes import ROUTES, RouteTable

routes = RouteTable("operations")
VERSION = "0.1.0"
log = logging.getLogger("micromentor.health")


# Past this, calls on this node stutter: report the node unhealthy so a balancer sends no more.
MAX_LOOP_LAG_MS = 1000.0


@dataclass(frozen=True)
class Health:
    status: str
    database: str
    rooms: int
    loop_lag_ms: float


@routes.get(
    "/healthz",
    "200 when the database answers and the event loop (media) keeps up",
    response=Health,
    errors=(503,),
)
async def healthz(request: web.Request) -> web.Response:
    calls = request.app[CALLS]
    report = {
        "status": "ok",
        "database": "ok",
        "rooms": len(calls.rooms),
        "loop_lag_ms": round(calls.loop_lag_ms, 1),
    }
    try:
        await request.app[DATABASE].ping()
    except Exception as exc:
        log.warning("health check: database unavailable: %s", exc)
        report.update(status="unavailable", database="unavailable")
    if calls.loop_lag_ms > MAX_LOOP_LAG_MS:
        report["status"] = "overloaded"
    return web.json_response(report, status=200 if report["status"] == "ok" else 503)


@routes.get("/api/openapi.json", "This OpenAPI document")
async def openapi(request: web.Request) -> web.Response:
    document = openapi_document(
        request.app[ROUTES], server_url=request.app[CONFIG].public_url, version=VERSION
    )
    return web.json_response(document)
