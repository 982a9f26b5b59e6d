"""The local checkout simulator: the embedded default's payment gateway. No money moves.

With no Razorpay keys configured there is no network to reach, so orders and payments are made
here, and the simulator page hands the booking page the same callback fields Razorpay Checkout
would, signed the same way (HMAC-SHA256 of "order|payment") with a secret generated under var/.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from billing.gateway import (
    GatewayError,
    Order,
    Payment,
    Refund,
    payment_signature,
    signature_matches,
)
from server.clock import Clock
from server.db.engine import Database
from server.db.models import SimulatedPayment
from server.keys import derive


class SimulatedGateway:
    name = "simulator"
    key_id = "simulator"

    def __init__(self, db: Database, secret: str, *, clock: Clock) -> None:
        self.db = db
        # One key signs checkout callbacks, another webhooks, as Razorpay's key secret and
        # webhook secret differ: a signature made for one is worthless for the other.
        self.checkout_secret = derive(secret, "simulator checkout").hex()
        self.webhook_secret = derive(secret, "simulator webhook").hex()
        self.clock = clock

    async def create_order(self, amount_paise: int, receipt: str) -> Order:
        return Order(f"order_sim_{secrets.token_hex(7)}", amount_paise, "INR", "created")

    async def order_payments(self, order_id: str) -> list[Payment]:
        async with self.db.read() as s:
            rows = await s.scalars(
                select(SimulatedPayment).where(SimulatedPayment.order_id == order_id)
            )
            return [Payment(p.id, p.order_id, p.amount_paise, p.status) for p in rows]

    async def fetch_payment(self, payment_id: str) -> Payment:
        async with self.db.read() as s:
            row = await s.get(SimulatedPayment, payment_id)
        if row is None:
            raise GatewayError("no such simulated payment")
        return Payment(row.id, row.order_id, row.amount_paise, row.status)

    async def refund(self, payment_id: str, amount_paise: int, idempotency_key: str) -> Refund:
        # The same key gives the same refund id, as Razorpay's idempotency key does.
        refund_id = "rfnd_sim_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:14]
        return Refund(refund_id, payment_id, amount_paise, "processed")

    def verify_payment(self, order_id: str, payment_id: str, signature: str) -> bool:
        message = f"{order_id}|{payment_id}".encode()
        return signature_matches(self.checkout_secret, message, signature)

    def verify_webhook(self, body: bytes, signature: str) -> bool:
        return signature_matches(self.webhook_secret, body, signature)

    async def take_payment(self, order_id: str, amount_paise: int) -> dict[str, str]:
        """The simulator's "Pay": a captured test payment and the signed callback fields."""
        payment_id = f"pay_sim_{secrets.token_hex(7)}"
        async with self.db.write() as s:
            s.add(
                SimulatedPayment(
                    id=payment_id,
                    order_id=order_id,
                    amount_paise=amount_paise,
                    status="captured",
                    created_at=self.clock(),
                )
            )
        return {
            "razorpay_order_id": order_id,
            "razorpay_payment_id": payment_id,
            "razorpay_signature": payment_signature(self.checkout_secret, order_id, payment_id),
        }
