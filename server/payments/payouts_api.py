"""The payouts API: where a mentor is paid, withdrawals, and the administrators' transfers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.db.models import Payout
from server.http.errors import ApiError
from server.http.formats import iso
from server.http.requests import path_id, read_body
from server.http.routes import RouteTable, link
from server.http.security import require_admin, require_user
from server.payments.payouts import PAYOUTS, PayoutDetails, Settlement

routes = RouteTable("payouts")
PAYOUT_ID = "$response.body#/payout/id"
P = r"{payout_id:\d+}"


def payout_json(record: Payout) -> dict[str, Any]:
    return {
        "id": record.id,
        "amount_paise": record.amount_paise,
        "tds_paise": record.tds_paise,
        "net_paise": record.amount_paise - record.tds_paise,
        "status": record.status,
        "method": record.method,
        "reference": record.reference,
        "batch": record.batch,
        "created_at": iso(record.created_at),
        "settled_at": iso(record.settled_at),
    }


@routes.put(
    "/api/payouts/details",
    "Set where you are paid (UPI or bank); stored encrypted",
    body=PayoutDetails,
    errors=(400, 401),
    login=True,
)
async def put_details(request: web.Request) -> web.Response:
    user = require_user(request)
    masked = await request.app[PAYOUTS].save_details(user, await read_body(request, PayoutDetails))
    return web.json_response({"masked": masked})


@routes.get("/api/payouts/details", "Your payout details, masked", errors=(401, 404), login=True)
async def get_details(request: web.Request) -> web.Response:
    user = require_user(request)
    account = await request.app[PAYOUTS].account(user.id)
    if account is None:
        raise ApiError(404, "not_found", "no payout details yet")
    return web.json_response({"method": account.method, "masked": account.masked})


@routes.post(
    "/api/payouts",
    "Withdraw the wallet balance (at least [billing] min_payout_paise)",
    status=201,
    errors=(401, 409),
    login=True,
    links=(
        link("paid", "PUT /api/admin/payouts/{payout_id}/paid", payout_id=PAYOUT_ID),
        link("failed", "PUT /api/admin/payouts/{payout_id}/failed", payout_id=PAYOUT_ID),
    ),
)
async def withdraw(request: web.Request) -> web.Response:
    user = require_user(request)
    record = await request.app[PAYOUTS].withdraw(user)
    return web.json_response({"payout": payout_json(record)}, status=201)


@routes.get("/api/payouts", "Your payouts", errors=(401,), login=True)
async def list_payouts(request: web.Request) -> web.Response:
    user = require_user(request)
    records = await request.app[PAYOUTS].of(user.id)
    return web.json_response({"items": [payout_json(r) for r in records], "total": len(records)})


@routes.put(
    f"/api/admin/payouts/{P}/paid",
    "Mark a payout paid with the bank reference (administrators)",
    tag="admin",
    body=Settlement,
    errors=(400, 401, 403, 404, 409),
    login=True,
)
async def admin_paid(request: web.Request) -> web.Response:
    return await _settle(request, True)


@routes.put(
    f"/api/admin/payouts/{P}/failed",
    "Mark a payout failed: the money returns to the wallet (administrators)",
    tag="admin",
    body=Settlement,
    errors=(401, 403, 404, 409),
    login=True,
)
async def admin_failed(request: web.Request) -> web.Response:
    return await _settle(request, False)


async def _settle(request: web.Request, paid: bool) -> web.Response:
    admin = require_admin(request)
    body = await read_body(request, Settlement)
    record = await request.app[PAYOUTS].settle(
        admin, path_id(request, "payout_id"), paid, body.reference
    )
    return web.json_response({"payout": payout_json(record)})
