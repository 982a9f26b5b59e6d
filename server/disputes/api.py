"""The disputes API: a mentee opens one on a call; administrators list and decide them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from server.db.models import Dispute, User
from server.disputes.service import DISPUTES, Case, Decision, Opening
from server.http.formats import iso
from server.http.requests import path_id, query_of, read_body
from server.http.routes import PAGE, QueryParam, RouteTable, link
from server.http.security import require_admin, require_user

routes = RouteTable("disputes")
D = r"{dispute_id:\d+}"
DISPUTE_ID = "$response.body#/dispute/id"


@dataclass(frozen=True)
class QueueQuery:
    status: Literal["open", "decided", ""] = ""
    page: int = field(default=1, metadata={"minimum": 1})
    per_page: int = field(default=20, metadata={"minimum": 1, "maximum": 100})


def dispute_json(dispute: Dispute) -> dict[str, Any]:
    return {
        "id": dispute.id,
        "booking_id": dispute.booking_id,
        "status": dispute.status,
        "reason": dispute.reason,
        "opened_at": iso(dispute.opened_at),
        "decision": dispute.decision,
        "refund_paise": dispute.refund_paise,
        "note": dispute.note,
        "decided_at": iso(dispute.decided_at),
    }


def person(user: User, email: bool = False) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, **({"email": user.email} if email else {})}


def case_json(found: Case, admin: bool = False) -> dict[str, Any]:
    booking = found.booking
    return {
        **dispute_json(found.dispute),
        "booking": {
            "id": booking.id,
            "topic": booking.topic,
            "starts_at": iso(booking.starts_at),
            "status": booking.status,
            "money_state": booking.money_state,
            "paid_paise": booking.paid_paise,
        },
        "mentee": person(found.mentee, admin),
        "mentor": person(found.mentor, admin),
        "refundable_paise": found.refundable,
    }


@routes.post(
    r"/api/bookings/{booking_id:\d+}/dispute",
    "Report a problem with a paid call, within 7 days of it (its mentee)",
    body=Opening,
    status=201,
    errors=(400, 401, 404, 409),
    login=True,
    links=(
        link("decide", "PUT /api/admin/disputes/{dispute_id}/decide", dispute_id=DISPUTE_ID),
        link("view", "GET /api/admin/disputes/{dispute_id}", dispute_id=DISPUTE_ID),
    ),
)
async def open_dispute(request: web.Request) -> web.Response:
    user = require_user(request)
    booking_id = path_id(request, "booking_id")
    opening = await read_body(request, Opening)
    dispute = await request.app[DISPUTES].open(user, booking_id, opening)
    return web.json_response({"dispute": dispute_json(dispute)}, status=201)


@routes.get(
    "/api/disputes",
    "Your disputes as mentee, and those on your calls as mentor",
    errors=(401,),
    login=True,
)
async def my_disputes(request: web.Request) -> web.Response:
    user = require_user(request)
    found = await request.app[DISPUTES].of_user(user)
    items = [
        {**case_json(c), "role": "mentee" if c.mentee.id == user.id else "mentor"} for c in found
    ]
    return web.json_response({"items": items, "total": len(items)})


@routes.get(
    "/api/admin/disputes",
    "Disputes, open ones first (administrators)",
    tag="admin",
    errors=(401, 403),
    login=True,
    query=(QueryParam("status", "open or decided (default both)"), *PAGE),
)
async def admin_list(request: web.Request) -> web.Response:
    require_admin(request)
    query: QueueQuery = query_of(request, QueueQuery)
    found, total = await request.app[DISPUTES].queue(query.status, query.page, query.per_page)
    return web.json_response({"items": [case_json(c, True) for c in found], "total": total})


@routes.get(
    f"/api/admin/disputes/{D}",
    "A dispute with its booking and the booking's ledger transactions (administrators)",
    tag="admin",
    errors=(401, 403, 404),
    login=True,
)
async def admin_get(request: web.Request) -> web.Response:
    require_admin(request)
    found, ledger = await request.app[DISPUTES].case(path_id(request, "dispute_id"))
    for line in ledger:
        line["at"] = iso(line["at"])
    return web.json_response({"dispute": case_json(found, True), "ledger": ledger})


@routes.put(
    f"/api/admin/disputes/{D}/decide",
    "Decide a dispute: no refund, a partial or a full one, with a note (administrators)",
    tag="admin",
    body=Decision,
    errors=(400, 401, 403, 404, 409),
    login=True,
)
async def admin_decide(request: web.Request) -> web.Response:
    admin = require_admin(request)
    dispute_id = path_id(request, "dispute_id")
    choice = await read_body(request, Decision)
    dispute = await request.app[DISPUTES].decide(admin, dispute_id, choice)
    return web.json_response({"dispute": dispute_json(dispute)})
