"""Payout routes and pages: details, withdrawals, the administrator's transfers, receipts."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.accounts_api import read_body
from server.booking_api import BOOKINGS, iso, path_id, require_admin
from server.booking_pages import rupees
from server.errors import ApiError
from server.models import Payout
from server.money import MONEY
from server.payouts import PayoutDetails, Payouts, Settlement
from server.routes import Route
from server.security import ACCOUNTS, require_user
from server.templating import TEMPLATES

PAYOUTS = web.AppKey("payouts", Payouts)


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


async def put_details(request: web.Request) -> web.Response:
    user = require_user(request)
    masked = await request.app[PAYOUTS].save_details(user, await read_body(request, PayoutDetails))
    return web.json_response({"masked": masked})


async def get_details(request: web.Request) -> web.Response:
    user = require_user(request)
    account = await request.app[PAYOUTS].account(user.id)
    if account is None:
        raise ApiError(404, "not_found", "no payout details yet")
    return web.json_response({"method": account.method, "masked": account.masked})


async def withdraw(request: web.Request) -> web.Response:
    user = require_user(request)
    record = await request.app[PAYOUTS].withdraw(user)
    return web.json_response({"payout": payout_json(record)}, status=201)


async def list_payouts(request: web.Request) -> web.Response:
    user = require_user(request)
    records = await request.app[PAYOUTS].of(user.id)
    return web.json_response({"items": [payout_json(r) for r in records], "total": len(records)})


async def admin_paid(request: web.Request) -> web.Response:
    return await _settle(request, True)


async def admin_failed(request: web.Request) -> web.Response:
    return await _settle(request, False)


async def _settle(request: web.Request, paid: bool) -> web.Response:
    require_admin(request)
    body = await read_body(request, Settlement)
    record = await request.app[PAYOUTS].settle(path_id(request, "payout_id"), paid, body.reference)
    return web.json_response({"payout": payout_json(record)})


async def payouts_page(request: web.Request) -> web.Response:
    user = require_user(request)
    payouts = request.app[PAYOUTS]
    balance, _entries = await request.app[MONEY].wallet(user.id)
    context = {
        "account": await payouts.account(user.id),
        "records": await payouts.of(user.id),
        "balance": balance,
        "minimum": payouts.settings.min_payout_paise,
        "rupees": rupees,
    }
    return await request.app[TEMPLATES].render(request, "payouts.html", context)


async def admin_payouts_page(request: web.Request) -> web.Response:
    require_admin(request)
    payouts = request.app[PAYOUTS]
    rows = [(p, u, payouts.reveal(a) if a else {}) for p, u, a in await payouts.waiting()]
    return await request.app[TEMPLATES].render(
        request, "admin_payouts.html", {"rows": rows, "rupees": rupees}
    )


async def receipt_page(request: web.Request) -> web.Response:
    """A printable receipt for a paid booking, with its tax lines."""
    user = require_user(request)
    booking = await request.app[BOOKINGS].visible(user, path_id(request, "booking_id"))
    if not booking.payment_id:
        raise ApiError(404, "not_found", "This booking has no payment yet.")
    money = request.app[MONEY]
    mentor_share, platform, gst = money.rules.split(booking.paid_paise)
    accounts = request.app[ACCOUNTS]
    context = {
        "booking": booking,
        "rupees": rupees,
        "mentor_share": mentor_share,
        "platform": platform,
        "gst": gst,
        "gst_percent": money.rules.gst_percent,
        "mentor": await accounts.get(booking.mentor_id),
        "mentee": await accounts.get(booking.mentee_id),
    }
    return await request.app[TEMPLATES].render(request, "receipt.html", context)


P = r"{payout_id:\d+}"
ROUTES = [
    Route(
        "PUT",
        "/api/payouts/details",
        put_details,
        "Set where you are paid (UPI or bank); stored encrypted",
        "payouts",
        body=PayoutDetails,
        errors=(400, 401),
        login=True,
    ),
    Route(
        "GET",
        "/api/payouts/details",
        get_details,
        "Your payout details, masked",
        "payouts",
        errors=(401, 404),
        login=True,
    ),
    Route(
        "POST",
        "/api/payouts",
        withdraw,
        "Withdraw the wallet balance (at least [billing] min_payout_paise)",
        "payouts",
        status=201,
        errors=(401, 409),
        login=True,
    ),
    Route(
        "GET", "/api/payouts", list_payouts, "Your payouts", "payouts", errors=(401,), login=True
    ),
    Route(
        "PUT",
        f"/api/admin/payouts/{P}/paid",
        admin_paid,
        "Mark a payout paid with the bank reference (administrators)",
        "admin",
        body=Settlement,
        errors=(400, 401, 403, 404, 409),
        login=True,
    ),
    Route(
        "PUT",
        f"/api/admin/payouts/{P}/failed",
        admin_failed,
        "Mark a payout failed: the money returns to the wallet (administrators)",
        "admin",
        body=Settlement,
        errors=(401, 403, 404, 409),
        login=True,
    ),
    Route(
        "GET",
        "/payouts",
        payouts_page,
        "Your payouts and payout details",
        "pages",
        kind="html",
        login=True,
    ),
    Route(
        "GET",
        "/admin/payouts",
        admin_payouts_page,
        "Payouts to transfer",
        "pages",
        kind="html",
        errors=(403,),
        login=True,
    ),
    Route(
        "GET",
        r"/bookings/{booking_id:\d+}/receipt",
        receipt_page,
        "A printable receipt with tax lines",
        "pages",
        kind="html",
        errors=(404,),
        login=True,
    ),
]
