"""The real razorpay SDK against the local fake of Razorpay's API, through billing.gateway."""

from __future__ import annotations

from typing import Any

import pytest

from billing.gateway import GatewayError, RazorpayGateway, sign
from tests.support.fake_razorpay import FakeRazorpay


@pytest.fixture
async def fake(aiohttp_server: Any) -> tuple[FakeRazorpay, str]:
    fake = FakeRazorpay()
    server = await aiohttp_server(fake.app())
    return fake, f"http://127.0.0.1:{server.port}"


def gateway(fake: FakeRazorpay, base_url: str, secret: str | None = None) -> RazorpayGateway:
    return RazorpayGateway(fake.key_id, secret or fake.key_secret, fake.webhook_secret, base_url)


async def test_orders_payments_and_refunds_through_the_sdk(fake: tuple[FakeRazorpay, str]) -> None:
    razorpay, url = fake
    gw = gateway(razorpay, url)
    order = await gw.create_order(10000, "booking-1")
    assert (order.amount_paise, order.currency, order.status) == (10000, "INR", "created")
    assert await gw.order_payments(order.id) == []
    fields = razorpay.pay(order.id)
    assert gw.verify_payment(order.id, fields["razorpay_payment_id"], fields["razorpay_signature"])
    assert not gw.verify_payment(
        "order_other", fields["razorpay_payment_id"], fields["razorpay_signature"]
    )
    payment = await gw.fetch_payment(fields["razorpay_payment_id"])
    assert (payment.amount_paise, payment.order_id, payment.succeeded) == (10000, order.id, True)
    assert [p.id for p in await gw.order_payments(order.id)] == [payment.id]

    first = await gw.refund(payment.id, 5000, "refund-booking-1")
    again = await gw.refund(payment.id, 5000, "refund-booking-1")
    assert first == again  # the idempotency key made it one refund
    assert len(razorpay.refunds) == 1
    with pytest.raises(GatewayError):
        await gw.refund(payment.id, 9000, "another-refund")  # more than is left


async def test_bad_keys_and_bad_input_are_gateway_errors(fake: tuple[FakeRazorpay, str]) -> None:
    razorpay, url = fake
    with pytest.raises(GatewayError):
        await gateway(razorpay, url, secret="wrong").create_order(10000, "x")
    with pytest.raises(GatewayError):
        await gateway(razorpay, url).create_order(50, "too little")
    with pytest.raises(GatewayError):
        await gateway(razorpay, "http://127.0.0.1:9").create_order(10000, "nobody listens")


async def test_webhook_signatures(fake: tuple[FakeRazorpay, str]) -> None:
    razorpay, url = fake
    gw = gateway(razorpay, url)
    body, headers = razorpay.webhook("payment.captured", {"id": "pay_1"})
    assert gw.verify_webhook(body, headers["X-Razorpay-Signature"])
    assert not gw.verify_webhook(body + b" ", headers["X-Razorpay-Signature"])
    assert not gw.verify_webhook(body, sign("another secret", body))
    assert not gw.verify_webhook(b"\xff\xfe", sign(razorpay.webhook_secret, b"\xff\xfe"))
