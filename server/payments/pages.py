"""The money pages: checkout and the test-payment simulator, the wallet, payouts, the
administrators' transfers, and receipts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from server.accounts.service import ACCOUNTS
from server.booking.bookings import BOOKINGS
from server.db.models import Booking, PaymentOrder
from server.http.errors import ApiError
from server.http.headers import CSP_WITH_RAZORPAY
from server.http.requests import path_id
from server.http.routes import RouteTable
from server.http.security import require_admin, require_user
from server.http.templating import TEMPLATES
from server.payments.money import MONEY, checkout_url
from server.payments.payouts import PAYOUTS
from server.payments.simulator import SimulatedGateway

routes = RouteTable("pages")
ORDER_ID = r"{order_id:[A-Za-z0-9_]+}"


@routes.page(r"/bookings/{booking_id:\d+}/pay", "Pay for a booking", errors=(404,), login=True)
async def checkout_page(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    booking = await request.app[BOOKINGS].visible(user, path_id(request, "booking_id"))
    money = request.app[MONEY]
    order = await money.order_for(booking.id)
    if order is None or booking.mentee_id != user.id:
        raise ApiError(404, "not_found", "There is nothing to pay here.")
    if money.gateway.name == "simulator":
        raise web.HTTPSeeOther(checkout_url(order.id, booking.id, "simulator"))
    context = {
        "order": order,
        "booking": booking,
        "key_id": money.gateway.key_id,
        "mentor_name": await _name(request, booking.mentor_id),
    }
    response = await request.app[TEMPLATES].render(request, "checkout.html", context)
    response.headers["Content-Security-Policy"] = CSP_WITH_RAZORPAY  # their script and frame
    return response


async def own_order(request: web.Request) -> tuple[Any, Any]:
    user = require_user(request)
    money = request.app[MONEY]
    async with money.db.read() as s:
        order = await s.get(PaymentOrder, request.match_info["order_id"])
        booking = await s.get(Booking, order.booking_id) if order else None
    if order is None or booking is None or booking.mentee_id != user.id:
        raise ApiError(404, "not_found", "There is no such payment.")
    return order, booking


@routes.page(
    f"/payments/simulator/{ORDER_ID}",
    "The test-payment simulator (no keys configured)",
    errors=(404,),
    login=True,
)
async def simulator_page(request: web.Request) -> web.Response:
    if not isinstance(request.app[MONEY].gateway, SimulatedGateway):
        raise ApiError(404, "not_found", "Payments go through Razorpay on this server.")
    order, booking = await own_order(request)
    context = {
        "order": order,
        "booking": booking,
        "mentor_name": await _name(request, booking.mentor_id),
    }
    return await request.app[TEMPLATES].render(request, "simulator.html", context)


async def _name(request: web.Request, user_id: int) -> str:
    account = await request.app[ACCOUNTS].get(user_id)
    return account.name if account else "your mentor"


@routes.page("/wallet", "Your wallet, entries and weekly earnings", login=True)
async def wallet_page(request: web.Request) -> web.Response:
    user = require_user(request)
    balance, entries = await request.app[MONEY].wallet(user.id)
    context = {
        "balance": balance,
        "entries": entries,
        "weeks": weekly_earnings(entries, request.app[MONEY].clock()),
    }
    return await request.app[TEMPLATES].render(request, "wallet.html", context)


def weekly_earnings(
    entries: list[dict[str, Any]], now: datetime, weeks: int = 8
) -> list[dict[str, Any]]:
    """What the wallet gained in each of the last `weeks` weeks (Monday to Sunday, UTC)."""
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    starts = [monday - timedelta(weeks=i) for i in reversed(range(weeks))]
    totals = [0] * weeks
    for entry in entries:
        if entry["amount_paise"] <= 0:
            continue
        at = datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
        for i, start in enumerate(starts):
            if start <= at < start + timedelta(weeks=1):
                totals[i] += entry["amount_paise"]
    peak = max(totals) or 1
    return [
        {"label": start.strftime("%d %b"), "amount": total, "share": round(100 * total / peak)}
        for start, total in zip(starts, totals, strict=True)
    ]


@routes.page("/payouts", "Your payouts and payout details", login=True)
async def payouts_page(request: web.Request) -> web.Response:
    user = require_user(request)
    payouts = request.app[PAYOUTS]
    balance, _entries = await request.app[MONEY].wallet(user.id)
    context = {
        "account": await payouts.account(user.id),
        "records": await payouts.of(user.id),
        "balance": balance,
        "minimum": payouts.settings.min_payout_paise,
    }
    return await request.app[TEMPLATES].render(request, "payouts.html", context)


@routes.page("/admin/payouts", "Payouts to transfer", errors=(403,), login=True)
async def admin_payouts_page(request: web.Request) -> web.Response:
    require_admin(request)
    payouts = request.app[PAYOUTS]
    rows = [(p, u, payouts.reveal(a) if a else {}) for p, u, a in await payouts.waiting()]
    return await request.app[TEMPLATES].render(request, "admin_payouts.html", {"rows": rows})


@routes.page(
    r"/bookings/{booking_id:\d+}/receipt",
    "A printable receipt with tax lines",
    errors=(404,),
    login=True,
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
        "mentor_share": mentor_share,
        "platform": platform,
        "gst": gst,
        "gst_percent": money.rules.gst_percent,
        "refunded": await money.refunded(booking.id),
        "mentor": await accounts.get(booking.mentor_id),
        "mentee": await accounts.get(booking.mentee_id),
    }
    return await request.app[TEMPLATES].render(request, "receipt.html", context)
