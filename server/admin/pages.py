"""The console's pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from server.admin.charts import chart, exact
from server.admin.reports import QUERY, REPORTS, SERIES, Bucket, Report, Window, csv_of
from server.booking.mentors import zone_names
from server.http.errors import ApiError
from server.http.routes import RouteTable
from server.http.security import require_admin
from server.http.templating import TEMPLATES

routes = RouteTable("pages")

# Every page of the console, for the links on its home page: (path, name, what it is for).
CONSOLE = (
    ("/admin/users", "Users", "search, suspend and reactivate, the administrator role"),
    ("/admin/bookings", "Bookings", "every booking, with its money trail"),
    ("/admin/disputes", "Disputes", "complaints about calls, decided with or without a refund"),
    ("/admin/reviews", "Reviews", "reported reviews to hide or keep"),
    ("/admin/community", "Community", "reported posts, questions and replies to hide or keep"),
    ("/admin/mentors", "Mentor applications", "approve or reject new mentors"),
    ("/admin/payouts", "Payouts", "transfers to make to mentors"),
    ("/admin/sponsors", "Sponsors", "institutions paying their students' free calls; top-ups"),
    ("/admin/outbox", "Outbox", "mail waiting, sent and failed"),
    ("/admin/audit", "Audit log", "who did what, when, before and after"),
)


# -- the console's home: what waits, the pages, revenue and activity ----------------------------


def bucket_name(bucket: Bucket, window: Window) -> str:
    """How a table row names its bucket: Sat 21 Nov 2026, 2026-W47 (16–22 Nov), Nov 2026."""
    if window.period == "week":
        return f"{bucket.label} ({bucket.start:%d %b}–{bucket.end:%d %b})"
    if window.period == "month":
        return f"{bucket.start:%B %Y}"
    return f"{bucket.start:%a %d %b %Y}"


def charts_of(report: Report) -> list[dict[str, Any]]:
    """Each series as a chart with its figures, for the template."""
    window = report.window
    span = f"{window.first:%d %b %Y} to {window.last:%d %b %Y} ({window.tz})"
    found = []
    for series in SERIES:
        values = [b.values[series.key] for b in report.buckets]
        total = exact(report.totals[series.key], series.money)
        peak = max(range(len(values)), key=lambda i: values[i])
        description = (
            f"{series.title} per {window.period}, {span}: {total} in all; the most, "
            f"{exact(values[peak], series.money)}, on {bucket_name(report.buckets[peak], window)}."
        )
        svg = chart(
            f"chart-{series.key}",
            series.title,
            description,
            [b.short for b in report.buckets],
            values,
            money=series.money,
            kind="bar" if series.money else "line",
        )
        rows = [
            (bucket_name(b, window), exact(v, series.money))
            for b, v in zip(report.buckets, values, strict=True)
        ]
        found.append({"series": series, "svg": svg, "total": total, "rows": rows})
    return found


@routes.page(
    "/admin",
    "The administrators' console: what waits, every console page, revenue and activity charts",
    query=QUERY,
    errors=(400, 403),
    login=True,
)
async def console_page(request: web.Request) -> web.Response:
    require_admin(request)
    reports = request.app[REPORTS]
    asked = {q.name: request.query.get(q.name, "") for q in QUERY}
    context: dict[str, Any] = {
        "waiting": await reports.waiting(),
        "pages": CONSOLE,
        "zones": zone_names(),
        "asked": asked,
        "error": None,
        "report": None,
    }
    try:
        window = reports.window(request.query)
    except ApiError as exc:
        context["error"] = exc
        return await request.app[TEMPLATES].render(request, "admin_home.html", context, 400)
    report = await reports.report(window)
    context.update(
        report=report,
        asked=window.query(),
        charts=charts_of(report),
        csv_link="/admin/revenue.csv?" + urlencode(window.query()),
    )
    if window.tz not in context["zones"]:
        context["zones"] = [window.tz, *context["zones"]]
    return await request.app[TEMPLATES].render(request, "admin_home.html", context)


@routes.get(
    "/admin/revenue.csv",
    "The revenue and activity figures as CSV: a row per bucket and a totals row",
    query=QUERY,
    kind="text",
    media_type="text/csv",
    errors=(400, 403),
    login=True,
)
async def revenue_csv(request: web.Request) -> web.Response:
    require_admin(request)
    reports = request.app[REPORTS]
    window = reports.window(request.query)
    name = f"micromentor-revenue-{window.period}-{window.first}-to-{window.last}.csv"
    return web.Response(
        text=csv_of(await reports.report(window)),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
