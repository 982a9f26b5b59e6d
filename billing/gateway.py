"""The payment gateway seam, and Razorpay behind it through the official SDK.

The SDK is synchronous (requests); every call runs in a worker thread so the event loop that
carries calls never waits on the network. `base_url` points the SDK elsewhere: tests use a
local fake of Razorpay's HTTP API on loopback.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Protocol

import razorpay


class GatewayError(Exception):
    """The gateway refused or failed; the message is safe to log."""


@dataclass(frozen=True)
class Order:
    id: str
    amount_paise: int
    currency: str
    status: str  # created, attempted, paid


@dataclass(frozen=True)
class Payment:
    id: str
    order_id: str
    amount_paise: int
    status: str  # created, authorized, captured, refunded, failed

    @property
    def succeeded(self) -> bool:
        return self.status in ("authorized", "captured")


@dataclass(frozen=True)
class Refund:
    id: str
    payment_id: str
    amount_paise: int
    status: str  # pending, processed, failed


class PaymentGateway(Protocol):
    key_id: str
    name: str  # "razorpay" or "simulator": which checkout the page opens

    async def create_order(self, amount_paise: int, receipt: str) -> Order: ...
    async def order_payments(self, order_id: str) -> list[Payment]: ...
    async def fetch_payment(self, payment_id: str) -> Payment: ...
    async def refund(self, payment_id: str, amount_paise: int, idempotency_key: str) -> Refund: ...
    def verify_payment(self, order_id: str, payment_id: str, signature: str) -> bool: ...
    def verify_webhook(self, body: bytes, signature: str) -> bool: ...


def sign(secret: str, message: bytes) -> str:
    """Razorpay's signature: hex HMAC-SHA256 of the message under a secret."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def payment_signature(secret: str, order_id: str, payment_id: str) -> str:
    return sign(secret, f"{order_id}|{payment_id}".encode())


def signature_matches(secret: str, message: bytes, signature: str) -> bool:
    return bool(secret) and hmac.compare_digest(sign(secret, message), signature)


class RazorpayGateway:
    name = "razorpay"

    def __init__(
        self, key_id: str, key_secret: str, webhook_secret: str, base_url: str = ""
    ) -> None:
        options: dict[str, Any] = {"base_url": base_url} if base_url else {}
        self.key_id = key_id
        self._key_secret = key_secret
        self._webhook_secret = webhook_secret
        self._client = razorpay.Client(auth=(key_id, key_secret), **options)
        self._client.set_app_details({"title": "micromentor", "version": "0.1.0"})

    async def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except razorpay.errors.BadRequestError as exc:
            raise GatewayError(f"razorpay refused: {exc}") from None
        except Exception as exc:  # requests' connection errors, server errors, bad JSON
            raise GatewayError(f"razorpay unavailable: {exc.__class__.__name__}") from None

    async def create_order(self, amount_paise: int, receipt: str) -> Order:
        data = await self._call(
            self._client.order.create,
            {"amount": amount_paise, "currency": "INR", "receipt": receipt},
        )
        return Order(data["id"], int(data["amount"]), data["currency"], data["status"])

    async def order_payments(self, order_id: str) -> list[Payment]:
        data = await self._call(self._client.order.payments, order_id)
        return [_payment(item) for item in data.get("items", [])]

    async def fetch_payment(self, payment_id: str) -> Payment:
        return _payment(await self._call(self._client.payment.fetch, payment_id))

    async def refund(self, payment_id: str, amount_paise: int, idempotency_key: str) -> Refund:
        data = await self._call(
            self._client.payment.refund,
            payment_id,
            {"amount": amount_paise},
            headers={"X-Razorpay-Idempotency-Key": idempotency_key},
        )
        return Refund(
            data["id"], data["payment_id"], int(data["amount"]), data.get("status", "pending")
        )

    def verify_payment(self, order_id: str, payment_id: str, signature: str) -> bool:
        try:
            self._client.utility.verify_payment_signature(
                {
                    "razorpay_order_id": order_id,
                    "razorpay_payment_id": payment_id,
                    "razorpay_signature": signature,
                }
            )
        except razorpay.errors.SignatureVerificationError:
            return False
        return True

    def verify_webhook(self, body: bytes, signature: str) -> bool:
        if not self._webhook_secret:
            return False
        try:
            self._client.utility.verify_webhook_signature(
                body.decode(), signature, self._webhook_secret
            )
        except (razorpay.errors.SignatureVerificationError, UnicodeDecodeError):
            return False
        return True


def _payment(data: dict[str, Any]) -> Payment:
    return Payment(data["id"], data.get("order_id") or "", int(data["amount"]), data["status"])
