"""The console's JSON API for users, bookings and the audit log (administrators only)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.admin.records import (
    RECORDS,
    AuditQuery,
    AuditRow,
    BookingQuery,
    BookingRow,
    BookingTrail,
)
from server.admin.users import USER_ADMIN, AdminRole, Suspension, UserQuery, UserView
from server.db.models import User
from server.http.formats import iso
from server.http.requests import path_id, query_of, read_body
from server.http.routes import PAGE, QueryParam, RouteTable
from server.http.security import require_admin

routes = RouteTable("admin")

# The filters of the three lists, the same on the API and on the pages.
USER_FILTERS = (
    QueryParam("q", "part of the name or email"),
    QueryParam("role", "mentee, mentor (both count as either) or both"),
    QueryParam("admin", "true or false", "boolean"),
    QueryParam("suspended", "true or false", "boolean"),
)
BOOKING_FILTERS = (
    QueryParam("status", "a booking status"),
    QueryParam("mentor", "the mentor's id, or part of the name or email"),
    QueryParam("mentee", "the mentee's id, or part of the name or email"),
    QueryParam("from_date", "starting on or after this day, YYYY-MM-DD (UTC)"),
    QueryParam("to_date", "starting on or before this day, YYYY-MM-DD (UTC)"),
)
AUDIT_FILTERS = (
    QueryParam("action", "e.g. user_suspended"),
    QueryParam("subject", "type:id, e.g. user:7"),
)
U = r"{user_id:\d+}"
B = r"{booking_id:\d+}"


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "is_admin": user.is_admin,
        "created_at": iso(user.created_at),
        "suspended": user.suspended_at is not None,
        "suspended_at": iso(user.suspended_at),
        "suspended_reason": user.suspended_reason,
    }


def person_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "email": user.email}


def audit_json(row: AuditRow) -> dict[str, Any]:
    entry = row.entry
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "actor": {"id": entry.actor_id, "name": row.actor_name},
        "action": entry.action,
        "subject": f"{entry.subject_type}:{entry.subject_id}",
        "before": entry.before,
        "after": entry.after,
        "note": entry.note,
    }


def view_json(view: UserView) -> dict[str, Any]:
    return {
        "user": user_json(view.user),
        "bookings_as_mentor": view.as_mentor,
        "bookings_as_mentee": view.as_mentee,
        "wallet_paise": view.wallet_paise,
        "recent_audit": [audit_json(row) for row in view.audit],
    }


def booking_row_json(row: BookingRow) -> dict[str, Any]:
    b = row.booking
    return {
        "id": b.id,
        "status": b.status,
        "topic": b.topic,
        "starts_at": iso(b.starts_at),
        "created_at": iso(b.created_at),
        "mentor": person_json(row.mentor),
        "mentee": person_json(row.mentee),
        "amount_paise": b.amount_paise,
        "paid_paise": b.paid_paise,
        "refund_paise": b.refund_paise,
        "money_state": b.money_state,
        "cancelled_by": b.cancelled_by,
        "cancel_reason": b.cancel_reason,
        "no_show_role": b.no_show_role,
    }


def trail_json(trail: BookingTrail) -> dict[str, Any]:
    return {
        "booking": booking_row_json(trail.row),
        "escrow_paise": trail.escrow_paise,
        "ledger": [
            {
                "id": step.transaction.id,
                "key": step.transaction.key,
                "kind": step.transaction.kind,
                "at": iso(step.transaction.created_at),
                "entries": [
                    {"account": e.account, "amount_paise": e.amount_paise} for e in step.entries
                ],
                "escrow_after": step.escrow_after,
            }
            for step in trail.steps
        ],
        "orders": [
            {
                "id": o.id,
                "gateway": o.gateway,
                "amount_paise": o.amount_paise,
                "status": o.status,
                "payment_id": o.payment_id,
                "created_at": iso(o.created_at),
                "paid_at": iso(o.paid_at),
            }
            for o in trail.orders
        ],
        "refunds": [
            {
                "id": r.id,
                "amount_paise": r.amount_paise,
                "status": r.status,
                "payment_id": r.payment_id,
                "gateway_refund_id": r.gateway_refund_id,
                "created_at": iso(r.created_at),
            }
            for r in trail.refunds
        ],
    }


# -- users -------------------------------------------------------------------------------------


@routes.get(
    "/api/admin/users",
    "Find users by name or email, role, administrator, suspended (administrators)",
    errors=(400, 401, 403),
    login=True,
    query=(
        *USER_FILTERS,
        *PAGE,
    ),
)
async def admin_list_users(request: web.Request) -> web.Response:
    require_admin(request)
    query: UserQuery = query_of(request, UserQuery)
    users, total = await request.app[USER_ADMIN].search(query)
    return web.json_response({"items": [user_json(u) for u in users], "total": total})


@routes.get(
    f"/api/admin/users/{U}",
    "One user: bookings, wallet, recent audit entries (administrators)",
    errors=(401, 403, 404),
    login=True,
)
async def admin_get_user(request: web.Request) -> web.Response:
    require_admin(request)
    view = await request.app[USER_ADMIN].view(path_id(request, "user_id"))
    return web.json_response(view_json(view))


@routes.put(
    f"/api/admin/users/{U}/suspend",
    "Suspend with {reason}: logins end, bookings ahead are cancelled and refunded by the policy",
    body=Suspension,
    errors=(400, 401, 403, 404, 409, 415),
    login=True,
)
async def admin_suspend(request: web.Request) -> web.Response:
    admin = require_admin(request)
    body = await read_body(request, Suspension)
    admins = request.app[USER_ADMIN]
    user_id = path_id(request, "user_id")
    cancelled = await admins.suspend(admin, user_id, body.reason)
    view = await admins.view(user_id)
    return web.json_response({**view_json(view), "cancelled_bookings": [b.id for b in cancelled]})


@routes.put(
    f"/api/admin/users/{U}/reactivate",
    "Lift a suspension: the user can log in again (administrators)",
    errors=(401, 403, 404, 409),
    login=True,
)
async def admin_reactivate(request: web.Request) -> web.Response:
    admin = require_admin(request)
    admins = request.app[USER_ADMIN]
    user_id = path_id(request, "user_id")
    await admins.reactivate(admin, user_id)
    return web.json_response(view_json(await admins.view(user_id)))


@routes.put(
    f"/api/admin/users/{U}/admin",
    "Grant or remove the administrator role with {is_admin} (administrators)",
    body=AdminRole,
    errors=(400, 401, 403, 404, 409, 415),
    login=True,
)
async def admin_set_admin(request: web.Request) -> web.Response:
    admin = require_admin(request)
    body = await read_body(request, AdminRole)
    admins = request.app[USER_ADMIN]
    user_id = path_id(request, "user_id")
    await admins.set_admin(admin, user_id, body.is_admin)
    return web.json_response(view_json(await admins.view(user_id)))


# -- bookings and the audit log ----------------------------------------------------------------


@routes.get(
    "/api/admin/bookings",
    "Every booking, newest first, with filters (administrators)",
    errors=(400, 401, 403),
    login=True,
    query=(
        *BOOKING_FILTERS,
        *PAGE,
    ),
)
async def admin_list_bookings(request: web.Request) -> web.Response:
    require_admin(request)
    query: BookingQuery = query_of(request, BookingQuery)
    rows, total = await request.app[RECORDS].bookings(query)
    return web.json_response({"items": [booking_row_json(r) for r in rows], "total": total})


@routes.get(
    f"/api/admin/bookings/{B}",
    "One booking with its money trail: ledger, orders, refunds, escrow (administrators)",
    errors=(401, 403, 404),
    login=True,
)
async def admin_get_booking(request: web.Request) -> web.Response:
    require_admin(request)
    trail = await request.app[RECORDS].trail(path_id(request, "booking_id"))
    return web.json_response(trail_json(trail))


@routes.get(
    "/api/admin/audit",
    "The audit log, newest first, by action and subject (administrators)",
    errors=(400, 401, 403),
    login=True,
    query=(
        *AUDIT_FILTERS,
        *PAGE,
    ),
)
async def admin_list_audit(request: web.Request) -> web.Response:
    require_admin(request)
    query: AuditQuery = query_of(request, AuditQuery)
    rows, total = await request.app[RECORDS].audit(query)
    return web.json_response({"items": [audit_json(r) for r in rows], "total": total})
