"""The console's pages for users, bookings and the audit log (administrators only). Filters
are GET forms and actions plain POST forms, so everything works without JavaScript."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from server.admin.console_api import AUDIT_FILTERS, BOOKING_FILTERS, USER_FILTERS
from server.admin.records import RECORDS, AuditQuery, BookingQuery
from server.admin.users import USER_ADMIN, UserQuery
from server.db.models import BOOKING_STATUSES
from server.http.errors import ApiError
from server.http.requests import path_id, query_of, read_form
from server.http.routes import PAGE, QueryParam, RouteTable
from server.http.security import require_admin
from server.http.templating import TEMPLATES
from server.payments.money import MONEY

routes = RouteTable("pages")
U = r"{user_id:\d+}"
B = r"{booking_id:\d+}"
REASON_MAX = 500
DONE = {
    "suspended": "The account is suspended: its logins ended, its live pages closed, and its "
    "bookings ahead were cancelled with the refunds the policy gives (listed in the audit entry).",
    "reactivated": "The account is active again; the user can log in.",
    "granted": "The user is now an administrator.",
    "removed": "The user is no longer an administrator.",
}


def pager(query: Any, total: int, path: str) -> dict[str, Any]:
    """What the pager of a filtered list needs: this page, the number of pages, and a link to
    another page with the same filters."""
    filters = {
        name: value
        for name, value in vars(query).items()
        if name not in ("page", "per_page") and value not in ("", None)
    }

    def link(page: int) -> str:
        return f"{path}?{urlencode({**filters, 'page': page})}"

    return {
        "page": query.page,
        "pages": max(1, math.ceil(total / query.per_page)),
        "page_link": link,
        "total": total,
    }


def sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


# -- users -------------------------------------------------------------------------------------


@routes.page(
    "/admin/users",
    "Users: find by name or email, role, administrator, suspended",
    errors=(400, 403),
    login=True,
    query=(
        *USER_FILTERS,
        *PAGE,
    ),
)
async def admin_users_page(request: web.Request) -> web.Response:
    require_admin(request)
    query: UserQuery = query_of(request, UserQuery)
    users, total = await request.app[USER_ADMIN].search(query)
    context = {"users": users, "query": query, **pager(query, total, "/admin/users")}
    return await request.app[TEMPLATES].render(request, "admin_users.html", context)


@routes.page(
    f"/admin/users/{U}",
    "One user: bookings, wallet, recent audit entries; suspend, reactivate, the admin role",
    errors=(403, 404),
    login=True,
    query=(QueryParam("done", "an action just done: say so"),),
)
async def admin_user_page(request: web.Request) -> web.Response:
    require_admin(request)
    done = DONE.get(request.query.get("done", ""), "")
    return await _user_page(request, path_id(request, "user_id"), done=done)


async def _user_page(
    request: web.Request,
    user_id: int,
    *,
    done: str = "",
    message: str = "",
    reason: str = "",
    status: int = 200,
) -> web.Response:
    view = await request.app[USER_ADMIN].view(user_id)
    context = {
        "view": view,
        "done": done,
        "form_message": message,
        "reason": reason,
        "reason_max": REASON_MAX,
    }
    return await request.app[TEMPLATES].render(request, "admin_user.html", context, status)


async def _act(request: web.Request, action: str) -> web.StreamResponse:
    """Carries out a form's action on the user; a refusal shows the page again, saying why."""
    admin = require_admin(request)
    user_id = path_id(request, "user_id")
    form = await read_form(request)
    reason_value = form.get("reason", "")
    reason = reason_value if isinstance(reason_value, str) else ""
    admins = request.app[USER_ADMIN]
    try:
        if action == "suspended":
            if len(reason) > REASON_MAX:
                raise ApiError(400, "invalid_field", f"write at most {REASON_MAX} characters")
            if not reason.strip():
                raise ApiError(400, "invalid_field", "write why the account is suspended")
            await admins.suspend(admin, user_id, reason)
        elif action == "reactivated":
            await admins.reactivate(admin, user_id)
        else:
            await admins.set_admin(admin, user_id, action == "granted")
    except ApiError as exc:
        if exc.status == 404:
            raise
        return await _user_page(
            request, user_id, message=sentence(exc.message), reason=reason, status=exc.status
        )
    raise web.HTTPSeeOther(f"/admin/users/{user_id}?done={action}")


@routes.post(
    f"/admin/users/{U}/suspend",
    "Submit the suspension form (a reason is required)",
    kind="redirect",
    errors=(400, 403, 404, 409),
    login=True,
)
async def admin_suspend_submit(request: web.Request) -> web.StreamResponse:
    return await _act(request, "suspended")


@routes.post(
    f"/admin/users/{U}/reactivate",
    "Lift the suspension",
    kind="redirect",
    errors=(403, 404, 409),
    login=True,
)
async def admin_reactivate_submit(request: web.Request) -> web.StreamResponse:
    return await _act(request, "reactivated")


@routes.post(
    f"/admin/users/{U}/grant-admin",
    "Make the user an administrator",
    kind="redirect",
    errors=(403, 404, 409),
    login=True,
)
async def admin_grant_submit(request: web.Request) -> web.StreamResponse:
    return await _act(request, "granted")


@routes.post(
    f"/admin/users/{U}/remove-admin",
    "Remove the administrator role (never your own, never the last one's)",
    kind="redirect",
    errors=(403, 404, 409),
    login=True,
)
async def admin_remove_submit(request: web.Request) -> web.StreamResponse:
    return await _act(request, "removed")


# -- bookings ----------------------------------------------------------------------------------


@routes.page(
    "/admin/bookings",
    "Every booking, newest first, by status, mentor, mentee and dates",
    errors=(400, 403),
    login=True,
    query=(
        *BOOKING_FILTERS,
        *PAGE,
    ),
)
async def admin_bookings_page(request: web.Request) -> web.Response:
    require_admin(request)
    query: BookingQuery = query_of(request, BookingQuery)
    rows, total = await request.app[RECORDS].bookings(query)
    context = {
        "rows": rows,
        "query": query,
        "statuses": BOOKING_STATUSES,
        **pager(query, total, "/admin/bookings"),
    }
    return await request.app[TEMPLATES].render(request, "admin_bookings.html", context)


@routes.page(
    f"/admin/bookings/{B}",
    "One booking and its money trail: ledger transactions, payment orders, refunds, escrow",
    errors=(403, 404),
    login=True,
)
async def admin_booking_page(request: web.Request) -> web.Response:
    require_admin(request)
    records = request.app[RECORDS]
    trail = await records.trail(path_id(request, "booking_id"))
    dispute, review = await records.linked(trail.row.booking.id)
    context = {
        "trail": trail,
        "booking": trail.row.booking,
        "dispute": dispute,
        "review": review,
        "refunded": await request.app[MONEY].refunded(trail.row.booking.id),
    }
    return await request.app[TEMPLATES].render(request, "admin_booking.html", context)


# -- the audit log -----------------------------------------------------------------------------


@routes.page(
    "/admin/audit",
    "The audit log: who did what, when, the values before and after",
    errors=(400, 403),
    login=True,
    query=(
        *AUDIT_FILTERS,
        *PAGE,
    ),
)
async def admin_audit_page(request: web.Request) -> web.Response:
    require_admin(request)
    query: AuditQuery = query_of(request, AuditQuery)
    records = request.app[RECORDS]
    rows, total = await records.audit(query)
    context = {
        "rows": rows,
        "query": query,
        "actions": await records.actions(),
        **pager(query, total, "/admin/audit"),
    }
    return await request.app[TEMPLATES].render(request, "admin_audit.html", context)
