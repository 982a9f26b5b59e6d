"""The administrators' API: users, bookings, revenue, the audit log."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.admin.reports import QUERY, REPORTS, SERIES, Report
from server.http.formats import iso
from server.http.routes import RouteTable
from server.http.security import require_admin

routes = RouteTable("admin")


# -- revenue and activity ----------------------------------------------------------------------


def report_json(report: Report) -> dict[str, Any]:
    window = report.window
    return {
        "period": window.period,
        "from": window.first.isoformat(),
        "to": window.last.isoformat(),
        "tz": window.tz,
        "starts_at": iso(window.starts_at),
        "ends_at": iso(window.ends_at),
        "series": [
            {
                "key": s.key,
                "title": s.title,
                "unit": "paise" if s.money else "count",
                "what": s.what,
            }
            for s in SERIES
        ],
        "buckets": [
            {"label": b.label, "from": b.start.isoformat(), "to": b.end.isoformat(), **b.values}
            for b in report.buckets
        ],
        "totals": report.totals,
    }


@routes.get(
    "/api/admin/revenue",
    "Revenue and activity per day, week or month, from the ledger: buckets and totals",
    query=QUERY,
    errors=(400, 403),
    login=True,
)
async def revenue(request: web.Request) -> web.Response:
    require_admin(request)
    reports = request.app[REPORTS]
    return web.json_response(report_json(await reports.report(reports.window(request.query))))
