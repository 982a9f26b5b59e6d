"""Payment routes: the checkout callback, the webhook, the wallet, checkout and the simulator."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from server.accounts_api import read_body
from server.booking_api import BOOKINGS, JOIN_EARLY, booking_json, path_id
from server.booking_pages import rupees
from server.errors import ApiError
from server.metrics import METRICS
from server.models import Booking, PaymentOrder
from server.money import MONEY, PaymentCallback, checkout_url
from server.payment_simulator import SimulatedGateway
from server.routes import Route
from server.security import require_user
from server.templating import TEMPLATES


async def verify(request: web.Request) -> web.Response:
    user = require_user(request)
    callback = await read_body(request, PaymentCallback)
    counter = request.app[METRICS].payments
    try:
        booking = await request.app[MONEY].verify(user, callback)
    except ApiError as exc:
        counter.labels(exc.code).inc()
        raise
    counter.labels("confirmed").inc()
    return web.json_response({"booking": booking_json(booking, request.app[JOIN_EARLY])})


async def webhook(request: web.Request) -> web.Response:
    body = await request.read()
    counter = request.app[METRICS].webhooks
    try:
        outcome = await request.app[MONEY].webhook(
            body,
            request.headers.get("X-Razorpay-Signature", ""),
            request.headers.get("x-razorpay-event-id", ""),
        )
    except ApiError as exc:
        counter.labels(exc.code).inc()
        raise
    counter.labels(outcome.replace(" ", "_")).inc()
    return web.json_response({"status": outcome})


async def wallet(request: web.Request) -> web.Response:
    user = require_user(request)
    balance, entries = await request.app[MONEY].wallet(user.id)
    return web.json_response({"balance_paise": balance, "entries": entries})


async def wallet_page(request: web.Request) -> web.Response:
    user = require_user(request)
    balance, entries = await request.app[MONEY].wallet(user.id)
    context = {
        "balance": balance,
        "entries": entries,
        "rupees": rupees,
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


async def _own_order(request: web.Request) -> tuple[Any, Any]:
    user = require_user(request)
    money = request.app[MONEY]
    async with money.db.read() as s:
        order = await s.get(PaymentOrder, request.match_info["order_id"])
        booking = await s.get(Booking, order.booking_id) if order else None
    if order is None or booking is None or booking.mentee_id != user.id:
        raise ApiError(404, "not_found", "There is no such payment.")
    return order, booking


async def simulator_page(request: web.Request) -> web.Response:
    if not isinstance(request.app[MONEY].gateway, SimulatedGateway):
        raise ApiError(404, "not_found", "Payments go through Razorpay on this server.")
    order, booking = await _own_order(request)
    context = {"order": order, "booking": booking}
    return await request.app[TEMPLATES].render(request, "simulator.html", context)


async def simulator_pay(request: web.Request) -> web.Response:
    gateway = request.app[MONEY].gateway
    if not isinstance(gateway, SimulatedGateway):
        raise ApiError(404, "not_found", "the simulator is off: Razorpay keys are configured")
    order, _booking = await _own_order(request)
    return web.json_response(await gateway.take_payment(order.id, order.amount_paise))


async def checkout_page(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    booking = await request.app[BOOKINGS].visible(user, path_id(request, "booking_id"))
    money = request.app[MONEY]
    order = await money.order_for(booking.id)
    if order is None or booking.mentee_id != user.id:
        raise ApiError(404, "not_found", "There is nothing to pay here.")
    if money.gateway.name == "simulator":
        raise web.HTTPSeeOther(checkout_url(order.id, booking.id, "simulator"))
    context = {"order": order, "booking": booking, "key_id": money.gateway.key_id}
    return await request.app[TEMPLATES].render(request, "checkout.html", context)


ORDER_ID = r"{order_id:[A-Za-z0-9_]+}"
ROUTES = [
    Route(
        "POST",
        "/api/payments/verify",
        verify,
        "The checkout callback: confirms the booking once the signature and payment check",
        "payments",
        body=PaymentCallback,
        errors=(400, 401, 404, 502),
        login=True,
    ),
    Route(
        "POST",
        "/api/payments/webhook",
        webhook,
        "Razorpay's webhook (X-Razorpay-Signature over the raw body); each event applied once",
        "payments",
        errors=(400,),
        csrf=False,
    ),
    Route(
        "GET",
        "/api/wallet",
        wallet,
        "Your wallet: the balance and its ledger entries",
        "payments",
        errors=(401,),
        login=True,
    ),
    Route(
        "GET",
        "/wallet",
        wallet_page,
        "Your wallet, entries and weekly earnings",
        "pages",
        kind="html",
        login=True,
    ),
    Route(
        "GET",
        f"/payments/simulator/{ORDER_ID}",
        simulator_page,
        "The test-payment simulator (no keys configured)",
        "pages",
        kind="html",
        errors=(404,),
        login=True,
    ),
    Route(
        "POST",
        f"/api/payments/simulator/{ORDER_ID}/pay",
        simulator_pay,
        "Simulator: take a test payment; returns the signed callback fields",
        "payments",
        errors=(401, 404),
        login=True,
    ),
    Route(
        "GET",
        r"/bookings/{booking_id:\d+}/pay",
        checkout_page,
        "Pay for a booking",
        "pages",
        kind="html",
        errors=(404,),
        login=True,
    ),
]
