"""Payments through the real app with the real razorpay SDK against a local fake of its API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from billing.ledger import GST_PAYABLE, PLATFORM_REVENUE, escrow, wallet
from server.app import create_app
from server.db.models import Booking, LedgerTransaction
from server.payments.money import MONEY
from tests.conftest import FAST_PASSWORDS, FakeClock, make_config
from tests.support.booking import Site, book, first_slot
from tests.support.fake_razorpay import FakeRazorpay, razorpay_env

Client = TestClient[Any, Any]


@pytest.fixture
async def razorpay(aiohttp_server: Any) -> tuple[FakeRazorpay, str]:
    fake = FakeRazorpay()
    server = await aiohttp_server(fake.app())
    return fake, f"http://127.0.0.1:{server.port}"


@pytest.fixture
async def paid_site(
    tmp_path: Path, aiohttp_client: Any, razorpay: tuple[FakeRazorpay, str]
) -> Site:
    fake, url = razorpay
    config = make_config(tmp_path, **razorpay_env(fake, url))
    client = await aiohttp_client(create_app(config, clock=FakeClock(), passwords=FAST_PASSWORDS))
    return Site(client.server, aiohttp_client)


async def booked(site: Site, slot: int = 8) -> tuple[Client, str, dict[str, Any], int]:
    """A mentee's booking of the mentor's `slot`-th free slot (8: two hours ahead)."""
    _mentor, mentor_id, _t = await site.mentor()
    mentee, _id, token = await site.user("e@example.org")
    created = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id, slot))
    assert created.status == 201, await created.text()
    return mentee, token, await created.json(), mentor_id


async def verify(client: Client, token: str, fields: dict[str, str]) -> Any:
    """What the checkout page does with Razorpay's callback fields."""
    return await client.post("/api/payments/verify", json=fields, headers={"X-CSRF-Token": token})


async def ledger_keys(client: Client) -> list[str]:
    money = client.app[MONEY]  # type: ignore[index]
    async with money.db.read() as s:
        from sqlalchemy import select

        return list(await s.scalars(select(LedgerTransaction.key).order_by(LedgerTransaction.id)))


async def test_pay_verify_settle_through_the_sdk(
    paid_site: Site, razorpay: tuple[FakeRazorpay, str]
) -> None:
    fake, _url = razorpay
    mentee, token, body, mentor_id = await booked(paid_site)
    order = body["order"]
    assert order["gateway"] == "razorpay" and order["key_id"] == fake.key_id
    assert fake.orders[order["order_id"]]["amount"] == 15000
    assert fake.orders[order["order_id"]]["receipt"] == f"booking-{body['booking']['id']}"
    assert body["checkout_url"] == f"/bookings/{body['booking']['id']}/pay"

    fields = fake.pay(order["order_id"])
    verified = await verify(mentee, token, fields)
    assert verified.status == 200, await verified.text()
    assert (await verified.json())["booking"]["status"] == "confirmed"
    again = await verify(mentee, token, fields)
    assert again.status == 200  # the same callback twice: applied once
    assert (await ledger_keys(mentee)).count(f"capture:{fields['razorpay_payment_id']}") == 1

    money = mentee.app[MONEY]  # type: ignore[index]
    booking_id = body["booking"]["id"]
    assert await money.balance(escrow(booking_id)) == 15000
    await money.outcome(booking_id, "completed")
    await money.outcome(booking_id, "completed")  # twice: settled once
    assert await money.balance(wallet(mentor_id)) == 10500  # 70% of ₹150
    assert await money.balance(GST_PAYABLE) == 810  # 18% of the ₹45 commission
    assert await money.balance(PLATFORM_REVENUE) == 3690
    assert await money.balance(escrow(booking_id)) == 0
    assert await money.total() == 0


async def test_a_forged_signature_changes_nothing(
    paid_site: Site, razorpay: tuple[FakeRazorpay, str]
) -> None:
    fake, _url = razorpay
    mentee, token, body, _mentor = await booked(paid_site)
    fields = fake.pay(body["order"]["order_id"])
    forged = {**fields, "razorpay_signature": "0" * 64}
    response = await verify(mentee, token, forged)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "bad_signature"
    state = await (await mentee.get(f"/api/bookings/{body['booking']['id']}")).json()
    assert state["booking"]["status"] == "pending_payment"
    assert await ledger_keys(mentee) == []
    # A signature for another order of ours is no better.
    other = {**fields, "razorpay_order_id": "order_someone_else"}
    assert (await verify(mentee, token, other)).status == 404


async def test_an_amount_that_does_not_match_the_order_is_refused_and_refunded(
    paid_site: Site, razorpay: tuple[FakeRazorpay, str]
) -> None:
    fake, _url = razorpay
    mentee, token, body, _mentor = await booked(paid_site)
    fields = fake.pay(body["order"]["order_id"], amount=100)
    response = await verify(mentee, token, fields)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "amount_mismatch"
    state = await (await mentee.get(f"/api/bookings/{body['booking']['id']}")).json()
    assert state["booking"]["status"] == "pending_payment"
    assert [r["amount"] for r in fake.refunds.values()] == [100]  # given back through the SDK
    money = mentee.app[MONEY]  # type: ignore[index]
    assert await money.total() == 0


async def test_webhooks_are_verified_and_applied_once(
    paid_site: Site, razorpay: tuple[FakeRazorpay, str]
) -> None:
    fake, _url = razorpay
    mentee, token, body, _mentor = await booked(paid_site)
    fields = fake.pay(body["order"]["order_id"])
    payment = fake.payments[fields["razorpay_payment_id"]]
    raw, headers = fake.webhook("payment.captured", payment)
    anonymous = await paid_site.make_client(paid_site.server)

    forged = await anonymous.post(
        "/api/payments/webhook", data=raw, headers={**headers, "X-Razorpay-Signature": "f" * 64}
    )
    assert forged.status == 400
    assert await ledger_keys(mentee) == []

    first = await anonymous.post("/api/payments/webhook", data=raw, headers=headers)
    assert first.status == 200 and (await first.json())["status"] == "payment applied"
    replay = await anonymous.post("/api/payments/webhook", data=raw, headers=headers)
    assert replay.status == 200 and (await replay.json())["status"] == "duplicate"
    # The same payment announced by another event (order.paid) and by the callback: once.
    raw2, headers2 = fake.webhook("order.paid", payment)
    assert (
        await anonymous.post("/api/payments/webhook", data=raw2, headers=headers2)
    ).status == 200
    await verify(mentee, token, fields)
    keys = await ledger_keys(mentee)
    assert keys == [f"capture:{payment['id']}"]
    state = await (await mentee.get(f"/api/bookings/{body['booking']['id']}")).json()
    assert state["booking"]["status"] == "confirmed"


async def test_an_early_cancellation_refunds_in_full_through_the_sdk(
    paid_site: Site, razorpay: tuple[FakeRazorpay, str]
) -> None:
    fake, _url = razorpay
    mentee, token, body, mentor_id = await booked(paid_site, slot=100)  # 25.5 hours ahead
    fields = fake.pay(body["order"]["order_id"])
    headers = {"X-CSRF-Token": token}
    await verify(mentee, token, fields)
    cancelled = await mentee.post(
        f"/api/bookings/{body['booking']['id']}/cancel",
        json={"reason": "exam moved"},
        headers=headers,
    )
    assert (await cancelled.json())["booking"]["refund_paise"] == 15000
    refunds = list(fake.refunds.values())
    assert [(r["amount"], r["payment_id"]) for r in refunds] == [
        (15000, fields["razorpay_payment_id"])
    ]
    raw, webhook_headers = fake.webhook("refund.processed", refunds[0], kind="refund")
    assert (
        await mentee.post("/api/payments/webhook", data=raw, headers=webhook_headers)
    ).status == 200
    keys = await ledger_keys(mentee)
    assert keys.count(f"refund_paid:{refunds[0]['id']}") == 1
    money = mentee.app[MONEY]  # type: ignore[index]
    assert await money.balance(wallet(mentor_id)) == 0
    assert await money.total() == 0


async def test_a_late_cancellation_refunds_nothing_and_the_mentor_keeps_their_share(
    paid_site: Site, razorpay: tuple[FakeRazorpay, str]
) -> None:
    fake, _url = razorpay
    mentee, token, body, mentor_id = await booked(paid_site)  # two hours ahead
    fields = fake.pay(body["order"]["order_id"])
    headers = {"X-CSRF-Token": token}
    await verify(mentee, token, fields)
    cancelled = await mentee.post(
        f"/api/bookings/{body['booking']['id']}/cancel", json={"reason": "clash"}, headers=headers
    )
    assert (await cancelled.json())["booking"]["refund_paise"] == 0  # under 4 hours: nothing
    money = mentee.app[MONEY]  # type: ignore[index]
    assert fake.refunds == {}
    assert await money.balance(wallet(mentor_id)) == 10500  # the mentor keeps their share
    assert await money.total() == 0


async def test_a_mentor_no_show_refunds_in_full_once(
    paid_site: Site, razorpay: tuple[FakeRazorpay, str]
) -> None:
    fake, _url = razorpay
    mentee, token, body, mentor_id = await booked(paid_site)
    fields = fake.pay(body["order"]["order_id"])
    await verify(mentee, token, fields)
    money = mentee.app[MONEY]  # type: ignore[index]
    booking_id = body["booking"]["id"]
    await money.outcome(booking_id, "mentor_no_show")
    await money.request_refunds()  # a retry finds nothing left to do
    refunds = list(fake.refunds.values())
    assert [(r["amount"], r["status"]) for r in refunds] == [(15000, "processed")]
    raw, headers = fake.webhook("refund.processed", refunds[0], kind="refund")
    assert (await mentee.post("/api/payments/webhook", data=raw, headers=headers)).status == 200
    keys = await ledger_keys(mentee)
    assert keys.count(f"refund:{booking_id}") == 1
    assert keys.count(f"refund_paid:{refunds[0]['id']}") == 1
    assert await money.balance(wallet(mentor_id)) == 0
    assert await money.total() == 0
    async with money.db.read() as s:
        stored = await s.get(Booking, booking_id)
    assert (stored.money_state, stored.refund_paise) == ("refunded", 15000)


async def test_money_left_in_escrow_by_a_crash_is_settled_by_reconciliation(
    paid_site: Site, razorpay: tuple[FakeRazorpay, str]
) -> None:
    fake, _url = razorpay
    mentee, token, body, mentor_id = await booked(paid_site)
    fields = fake.pay(body["order"]["order_id"])
    await verify(mentee, token, fields)
    money = mentee.app[MONEY]  # type: ignore[index]
    booking_id = body["booking"]["id"]
    async with money.db.write() as s:  # the outcome was stored, then the server died
        stored = await s.get(Booking, booking_id)
        stored.status = "completed"
    assert await money.balance(escrow(booking_id)) == 15000
    await money.reconcile()
    await money.reconcile()  # again: nothing more happens
    assert await money.balance(escrow(booking_id)) == 0
    assert await money.balance(wallet(mentor_id)) == 10500
    assert await money.total() == 0
