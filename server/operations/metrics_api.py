"""GET /metrics: the Prometheus exposition, behind a bearer token or an address allow-list."""

from __future__ import annotations

from aiohttp import web

from server.calls.service import CALLS
from server.config import CONFIG
from server.http.errors import ApiError
from server.http.routes import RouteTable
from server.operations.metrics import METRICS, allowed

routes = RouteTable("operations")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@routes.get(
    "/metrics",
    "Prometheus exposition ([metrics] token or allow)",
    kind="text",
    errors=(403, 404),
)
async def metrics(request: web.Request) -> web.Response:
    settings = request.app[CONFIG].metrics
    if not settings.enabled:
        raise ApiError(404, "not_found", "metrics are turned off ([metrics] enabled)")
    if not allowed(request, settings.token, settings.allow):
        raise ApiError(403, "forbidden", "send the bearer token or scrape from an allowed address")
    registry = request.app[METRICS]
    calls = request.app[CALLS]
    registry.refresh(
        calls.loop_lag_ms, calls.recording_disk_free(), calls.recording.min_free_mb * 2**20
    )
    return web.Response(body=registry.exposition(), headers={"Content-Type": CONTENT_TYPE})
