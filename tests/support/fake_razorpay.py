"""A local fake of Razorpay's HTTP API, for the real razorpay SDK to talk to on loopback.

It keeps orders, payments and refunds in memory and speaks the shapes and errors of
https://razorpay.com/docs/api/ that the SDK and micromentor use. `pay()` stands in for a
customer completing Checkout: it makes a captured payment and returns what Checkout would hand
the page (the ids and the signature).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from billing.gateway import payment_signature, sign


@dataclass
class FakeRazorpay:
    key_id: str = "rzp_test_fake"
    key_secret: str = "fake-key-secret"
    webhook_secret: str = "fake-webhook-secret"
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    refund_keys: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    # Cleared, GET /v1/payments/{id} waits: a server can be caught (and killed) mid-request.
    payments_answer: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.payments_answer.set()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_post("/v1/orders", self.create_order)
        app.router.add_get("/v1/orders/{id}", self.get_order)
        app.router.add_get("/v1/orders/{id}/payments", self.order_payments)
        app.router.add_get("/v1/payments/{id}", self.get_payment)
        app.router.add_post("/v1/payments/{id}/refund", self.refund)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        header = request.headers.get("Authorization", "")
        expected = base64.b64encode(f"{self.key_id}:{self.key_secret}".encode()).decode()
        if header != f"Basic {expected}":
            return error(401, "BAD_REQUEST_ERROR", "The api key provided is invalid")
        return await handler(request)

    async def create_order(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text())
        amount = body.get("amount")
        if not isinstance(amount, int) or amount < 100:
            return error(400, "BAD_REQUEST_ERROR", "The amount must be at least INR 1.00")
        order = {
            "id": f"order_{secrets.token_hex(7)}",
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "currency": body.get("currency", "INR"),
            "receipt": body.get("receipt"),
            "status": "created",
            "created_at": int(time.time()),
        }
        self.orders[order["id"]] = order
        return web.json_response(order)

    async def get_order(self, request: web.Request) -> web.Response:
        order = self.orders.get(request.match_info["id"])
        if order is None:
            return error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        return web.json_response(order)

    async def order_payments(self, request: web.Request) -> web.Response:
        order_id = request.match_info["id"]
        items = [p for p in self.payments.values() if p["order_id"] == order_id]
        return web.json_response({"entity": "collection", "count": len(items), "items": items})

    async def get_payment(self, request: web.Request) -> web.Response:
        await self.payments_answer.wait()
        payment = self.payments.get(request.match_info["id"])
        if payment is None:
            return error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        return web.json_response(payment)

    async def refund(self, request: web.Request) -> web.Response:
        payment = self.payments.get(request.match_info["id"])
        if payment is None:
            return error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        key = request.headers.get("X-Razorpay-Idempotency-Key", "")
        if key and key in self.refund_keys:
            return web.json_response(self.refunds[self.refund_keys[key]])
        amount = json.loads(await request.text()).get("amount", payment["amount"])
        refunded = sum(
            r["amount"] for r in self.refunds.values() if r["payment_id"] == payment["id"]
        )
        if amount + refunded > payment["amount"]:
            return error(
                400,
                "BAD_REQUEST_ERROR",
                "The refund amount provided is greater than amount captured",
            )
        refund = {
            "id": f"rfnd_{secrets.token_hex(7)}",
            "entity": "refund",
            "amount": amount,
            "payment_id": payment["id"],
            "status": "processed",
            "currency": "INR",
        }
        self.refunds[refund["id"]] = refund
        if key:
            self.refund_keys[key] = refund["id"]
        return web.json_response(refund)

    # -- what a customer and Razorpay's servers do ---------------------------------------------

    def pay(self, order_id: str, amount: int | None = None) -> dict[str, str]:
        """A customer pays the order in Checkout; returns the fields Checkout gives the page."""
        order = self.orders[order_id]
        payment = {
            "id": f"pay_{secrets.token_hex(7)}",
            "entity": "payment",
            "amount": order["amount"] if amount is None else amount,
            "currency": "INR",
            "status": "captured",
            "order_id": order_id,
            "method": "upi",
            "captured": True,
        }
        self.payments[payment["id"]] = payment
        order["status"], order["amount_paid"] = "paid", payment["amount"]
        return {
            "razorpay_order_id": order_id,
            "razorpay_payment_id": payment["id"],
            "razorpay_signature": payment_signature(self.key_secret, order_id, payment["id"]),
        }

    def webhook(
        self, event: str, entity: dict[str, Any], kind: str = "payment"
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers Razorpay would POST to the webhook URL."""
        body = json.dumps(
            {
                "entity": "event",
                "event": event,
                "contains": [kind],
                "payload": {kind: {"entity": entity}},
                "created_at": int(time.time()),
            }
        ).encode()
        headers = {
            "X-Razorpay-Signature": sign(self.webhook_secret, body),
            "x-razorpay-event-id": f"evt_{secrets.token_hex(7)}",
            "Content-Type": "application/json",
        }
        return body, headers


def error(status: int, code: str, description: str) -> web.Response:
    return web.json_response({"error": {"code": code, "description": description}}, status=status)


def razorpay_env(fake: FakeRazorpay, url: str) -> dict[str, str]:
    return {
        "MICROMENTOR_BILLING_RAZORPAY_KEY_ID": fake.key_id,
        "MICROMENTOR_BILLING_RAZORPAY_KEY_SECRET": fake.key_secret,
        "MICROMENTOR_BILLING_RAZORPAY_WEBHOOK_SECRET": fake.webhook_secret,
        "MICROMENTOR_BILLING_RAZORPAY_BASE_URL": url,
    }
