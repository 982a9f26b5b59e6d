"""The dispute pages: a mentee's form to report a problem with a call (it works without
JavaScript: a form POST and a redirect), and the administrators' queue with a decision form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from server.disputes.service import DISPUTES, MAX_REASON, WINDOW, Opening, call_end, refundable
from server.http.errors import ApiError
from server.http.requests import path_id, query_of, read_form
from server.http.routes import QueryParam, RouteTable
from server.http.schema import BodyError, parse
from server.http.security import current_user, require_admin, require_user
from server.http.templating import TEMPLATES

routes = RouteTable("pages")
B = r"{booking_id:\d+}"
PER_PAGE = 20


@dataclass(frozen=True)
class QueuePage:
    page: int = field(default=1, metadata={"minimum": 1})
    decided: int | None = field(default=None, metadata={"minimum": 1})


@routes.page(
    f"/bookings/{B}/dispute",
    "Report a problem with a call (its mentee); the dispute's state once reported",
    errors=(404,),
    login=True,
    query=(QueryParam("opened", "a dispute was just opened: say so", "integer"),),
)
async def dispute_page(request: web.Request) -> web.Response:
    return await _dispute_page(request)


@routes.post(
    f"/bookings/{B}/dispute",
    "Submit the report-a-problem form",
    kind="redirect",
    errors=(400, 403, 404, 409),
    login=True,
)
async def dispute_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    booking_id = path_id(request, "booking_id")
    form = await read_form(request)
    reason = form.get("reason")
    text = reason if isinstance(reason, str) else ""
    if not text.strip():
        return await _dispute_page(request, "Say what went wrong.", text, 400)
    if len(text) > MAX_REASON:
        return await _dispute_page(
            request, f"Keep it under {MAX_REASON:,} characters.", text[:MAX_REASON], 400
        )
    try:
        opening = parse(Opening, {"reason": text})  # NUL characters, broken Unicode
    except BodyError as exc:
        return await _dispute_page(request, f"That text {exc.message}.", "", 400)
    try:
        await request.app[DISPUTES].open(user, booking_id, opening)
    except ApiError as exc:
        if exc.status == 404:
            raise
        message = exc.message[0].upper() + exc.message[1:] + "."
        return await _dispute_page(request, message, text, exc.status)
    raise web.HTTPSeeOther(f"/bookings/{booking_id}/dispute?opened=1")


async def _dispute_page(
    request: web.Request, error: str = "", text: str = "", status: int = 200
) -> web.Response:
    user = require_user(request)
    disputes = request.app[DISPUTES]
    booking, dispute = await disputes.of_booking(user, path_id(request, "booking_id"))
    role = booking.role_of(user.id)
    if role == "mentor" and dispute is None:
        raise ApiError(404, "not_found", "no problem was reported about this call")
    names = await disputes.names(booking)
    context: dict[str, Any] = {
        "booking": booking,
        "dispute": dispute,
        "role": role,
        "other_name": names[booking.other_than(user.id)],
        "why_not": disputes.why_not(booking),
        "ends": call_end(booking) + WINDOW,
        "window_days": WINDOW.days,
        "refundable": refundable(booking),
        "error": error,
        "text": text,
        "max_reason": MAX_REASON,
        "just_opened": request.query.get("opened") == "1" and dispute is not None,
    }
    return await request.app[TEMPLATES].render(request, "dispute.html", context, status)


@routes.page(
    "/admin/disputes",
    "Disputes to decide, open ones first (administrators)",
    errors=(400, 403),
    login=True,
    query=(
        QueryParam("page", "page number, from 1", "integer"),
        QueryParam("decided", "a dispute was just decided: say so", "integer"),
    ),
)
async def admin_disputes_page(request: web.Request) -> web.Response:
    require_admin(request)
    query: QueuePage = query_of(request, QueuePage)
    cases, total = await request.app[DISPUTES].queue("", query.page, PER_PAGE)
    context = {
        "cases": cases,
        "total": total,
        "page": query.page,
        "pages": max(1, -(-total // PER_PAGE)),
        "decided": query.decided,
    }
    return await request.app[TEMPLATES].render(request, "admin_disputes.html", context)


async def dashboard_disputes(request: web.Request) -> dict[str, Any]:
    """A template hook: on the dashboard, the mentee's disputes by booking, so a past call
    shows "Your report" instead of offering to report it again."""
    user = current_user(request)
    if request.path != "/dashboard" or user is None:
        return {}
    return {"disputed": await request.app[DISPUTES].states_of(user.id)}
