"""The payments API: the checkout callback, Razorpay's webhook, the wallet, and the
simulator's test payment."""

from __future__ import annotations

from aiohttp import web

from server.booking.bookings import JOIN_EARLY
from server.booking.shapes import booking_json
from server.http.errors import ApiError
from server.http.requests import read_body
from server.http.routes import RouteTable
from server.http.security import require_user
from server.operations.metrics import METRICS
from server.payments.money import MONEY, PaymentCallback
from server.payments.pages import own_order
from server.payments.simulator import SimulatedGateway

routes = RouteTable("payments")
ORDER_ID = r"{order_id:[A-Za-z0-9_]+}"


@routes.post(
    "/api/payments/verify",
    "The checkout callback: confirms the booking once the signature and payment check",
    body=PaymentCallback,
    errors=(400, 401, 404, 502),
    login=True,
)
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


@routes.post(
    "/api/payments/webhook",
    "Razorpay's webhook (X-Razorpay-Signature over the raw body); each event applied once",
    errors=(400,),
    csrf=False,
)
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


@routes.get(
    "/api/wallet",
    "Your wallet: the balance and its ledger entries",
    errors=(401,),
    login=True,
)
async def wallet(request: web.Request) -> web.Response:
    user = require_user(request)
    balance, entries = await request.app[MONEY].wallet(user.id)
    return web.json_response({"balance_paise": balance, "entries": entries})


@routes.post(
    f"/api/payments/simulator/{ORDER_ID}/pay",
    "Simulator: take a test payment; returns the signed callback fields",
    errors=(401, 404),
    login=True,
)
async def simulator_pay(request: web.Request) -> web.Response:
    gateway = request.app[MONEY].gateway
    if not isinstance(gateway, SimulatedGateway):
        raise ApiError(404, "not_found", "the simulator is off: Razorpay keys are configured")
    order, _booking = await own_order(request)
    return web.json_response(await gateway.take_payment(order.id, order.amount_paise))
