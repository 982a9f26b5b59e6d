"""Disputes through the real app, paid with the real razorpay SDK against the local fake of its
API: who may open one and when, the administrator's decision, the refund through the gateway,
the reversal in the ledger, the audit entry and what both sides are told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from billing.ledger import GST_PAYABLE, PLATFORM_REVENUE, REFUNDS, wallet
from server.app import create_app
from server.db.models import (
    AuditEntry,
    Booking,
    LedgerTransaction,
    Notification,
    RefundRecord,
    call_outcome,
)
from server.notifications.service import NOTIFICATIONS
from server.payments.money import MONEY, Money
from tests.conftest import FAST_PASSWORDS, FakeClock, login, make_config
from tests.support.booking import Client, Site, book, first_slot
from tests.support.calls import add_booking
from tests.support.fake_razorpay import FakeRazorpay, razorpay_env

PRICE = 15000  # ₹150: the mentor's 70% is 10500, the platform's 4500 is 3690 and 810 of GST


@dataclass
class World:
    site: Site
    clock: FakeClock
    fake: FakeRazorpay
    mentor_id: int = 0
    mentee: Client | None = None
    mentee_id: int = 0
    token: str = ""

    @property
    def money(self) -> Money:
        return self.site.server.app[MONEY]

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"X-CSRF-Token": token or self.token}

    async def call(self, slot: int = 8, outcome: str = "completed", settle: bool = True) -> int:
        """A paid booking of the mentor's `slot`-th free slot whose call then ended with
        `outcome`; the clock stands an hour after its end. Its id."""
        assert self.mentee is not None
        start = await first_slot(self.mentee, self.mentor_id, slot)
        created = await book(self.mentee, self.token, self.mentor_id, start)
        assert created.status == 201, await created.text()
        body = await created.json()
        fields = self.fake.pay(body["order"]["order_id"])
        paid = await self.mentee.post("/api/payments/verify", json=fields, headers=self.headers())
        assert paid.status == 200, await paid.text()
        booking_id: int = body["booking"]["id"]
        async with self.money.db.write() as s:
            booking = await s.get(Booking, booking_id)
            assert booking is not None
            booking.status = "completed" if outcome == "completed" else "no_show"
            booking.no_show_role = None if outcome == "completed" else outcome
            if outcome == "completed":
                booking.call_started_at = booking.starts_at
                booking.call_ended_at = booking.starts_at + timedelta(minutes=25)
            ended = booking.call_ended_at or booking.booked_end
            kind = call_outcome(booking)
        if settle:
            await self.money.outcome(booking_id, kind)
        self.clock.now = max(self.clock.now, ended + timedelta(hours=1))
        return booking_id

    async def open(self, booking_id: int, reason: str = "The mentor's audio kept dropping.") -> Any:
        assert self.mentee is not None
        return await self.mentee.post(
            f"/api/bookings/{booking_id}/dispute", json={"reason": reason}, headers=self.headers()
        )

    async def balances(self) -> list[int]:
        accounts = (wallet(self.mentor_id), PLATFORM_REVENUE, GST_PAYABLE, REFUNDS)
        return [await self.money.balance(a) for a in accounts]

    async def count(self, model: Any, *where: Any) -> int:
        async with self.money.db.read() as s:
            return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
async def world(tmp_path: Path, aiohttp_server: Any, aiohttp_client: Any) -> World:
    fake = FakeRazorpay()
    gateway = await aiohttp_server(fake.app())
    config = make_config(tmp_path, **razorpay_env(fake, f"http://127.0.0.1:{gateway.port}"))
    clock = FakeClock()
    client = await aiohttp_client(create_app(config, clock=clock, passwords=FAST_PASSWORDS))
    found = World(Site(client.server, aiohttp_client), clock, fake)
    _mentor, found.mentor_id, _t = await found.site.mentor()
    found.mentee, found.mentee_id, found.token = await found.site.user("e@example.org")
    return found


async def decide(admin: Client, token: str, dispute_id: int, **body: Any) -> Any:
    return await admin.put(
        f"/api/admin/disputes/{dispute_id}/decide",
        json={"note": "Checked the call's log.", **body},
        headers={"X-CSRF-Token": token},
    )


async def test_only_the_mentee_of_a_paid_finished_call_opens_a_dispute_once(world: World) -> None:
    booking_id = await world.call()
    stranger, _id, stranger_token = await world.site.user("x@example.org")
    refused = await stranger.post(
        f"/api/bookings/{booking_id}/dispute",
        json={"reason": "not my call"},
        headers={"X-CSRF-Token": stranger_token},
    )
    assert refused.status == 404
    assert (await world.open(booking_id, "")).status == 400
    assert (await world.open(booking_id, "   ")).status == 400
    assert (await world.open(booking_id, "x" * 2001)).status == 400
    opened = await world.open(booking_id)
    assert opened.status == 201, await opened.text()
    dispute = (await opened.json())["dispute"]
    assert dispute["status"] == "open" and dispute["booking_id"] == booking_id
    again = await world.open(booking_id, "and another thing")
    assert again.status == 409 and (await again.json())["error"]["code"] == "already_disputed"
    mine = await (await world.mentee.get("/api/disputes")).json()  # type: ignore[union-attr]
    assert [(d["id"], d["role"]) for d in mine["items"]] == [(dispute["id"], "mentee")]


async def test_the_mentor_cannot_open_one_but_sees_the_one_on_their_call(world: World) -> None:
    booking_id = await world.call()
    mentor = await world.site.make_client(world.site.server)
    mentor_token = await login(mentor, "mentor@example.org")
    as_mentor = await mentor.post(
        f"/api/bookings/{booking_id}/dispute",
        json={"reason": "I want a refund of my own call"},
        headers={"X-CSRF-Token": mentor_token},
    )
    assert as_mentor.status == 404
    assert (await mentor.get(f"/bookings/{booking_id}/dispute")).status == 404  # none yet
    await world.open(booking_id)
    theirs = await (await mentor.get("/api/disputes")).json()
    assert [d["role"] for d in theirs["items"]] == ["mentor"]
    page = await mentor.get(f"/bookings/{booking_id}/dispute")
    assert page.status == 200 and "audio kept dropping" in await page.text()


async def test_only_paid_calls_that_happened_or_were_missed_within_7_days(world: World) -> None:
    upcoming = await world.call(slot=8)
    async with world.money.db.write() as s:
        booking = await s.get(Booking, upcoming)
        assert booking is not None
        booking.status = "confirmed"  # not over yet
    refused = await world.open(upcoming)
    assert refused.status == 409 and (await refused.json())["error"]["code"] == "not_disputable"

    free = await add_booking(
        world.mentee,  # type: ignore[arg-type]
        world.mentor_id,
        world.mentee_id,
        starts_at=world.clock.now - timedelta(hours=2),
        status="completed",
    )
    unpaid = await world.open(free)
    assert unpaid.status == 409 and "paid" in (await unpaid.json())["error"]["message"]

    missed = await world.call(slot=20, outcome="mentor")  # the mentor never came
    ended = world.clock.now - timedelta(hours=1)
    world.clock.now = ended + timedelta(days=7, minutes=1)
    late = await world.open(missed)
    assert late.status == 409
    assert "up to 7 days after a call" in (await late.json())["error"]["message"]
    world.clock.now = ended + timedelta(days=7) - timedelta(minutes=1)
    assert (await world.open(missed)).status == 201  # a no-show counts from its booked end


async def test_a_cancelled_call_is_not_disputed(world: World) -> None:
    booking_id = await world.call()
    async with world.money.db.write() as s:
        booking = await s.get(Booking, booking_id)
        assert booking is not None
        booking.status = "cancelled"
    refused = await world.open(booking_id)
    assert refused.status == 409
    assert "cancellation policy" in (await refused.json())["error"]["message"]


async def test_a_partial_refund_reverses_both_shares_once_however_often_it_is_run(
    world: World,
) -> None:
    """The acceptance test: one gateway refund of the amount, the ledger sums to zero, the
    mentor's wallet, the platform's revenue and the GST each drop by their share, and running
    the resolution again (the decision, the refund request, the webhook) changes nothing."""
    booking_id = await world.call()
    assert await world.balances() == [10500, 3690, 810, 0]
    dispute_id = (await (await world.open(booking_id)).json())["dispute"]["id"]
    admin, admin_token = await world.site.admin()

    decided = await decide(admin, admin_token, dispute_id, decision="partial", refund_paise=5001)
    assert decided.status == 200, await decided.text()
    body = (await decided.json())["dispute"]
    assert (body["status"], body["decision"], body["refund_paise"]) == ("decided", "partial", 5001)

    refunds = list(world.fake.refunds.values())
    async with world.money.db.read() as s:
        payment_id = (await s.get(Booking, booking_id)).payment_id  # type: ignore[union-attr]
    assert [(r["amount"], r["payment_id"]) for r in refunds] == [(5001, payment_id)]
    assert list(world.fake.refund_keys) == [f"dispute-{dispute_id}"]
    # 5001 = 3500 (70%, rounded down) + 1231 + 270 (18% GST on the 1501 commission).
    after = [10500 - 3500, 3690 - 1231, 810 - 270, 0]  # the refund is paid out at once
    assert await world.balances() == after
    assert await world.money.total() == 0

    # Running it all again changes nothing.
    for choice in ({"decision": "partial", "refund_paise": 5001}, {"decision": "full"}):
        again = await decide(admin, admin_token, dispute_id, **choice)
        assert again.status == 409 and (await again.json())["error"]["code"] == "already_decided"
    await world.money.request_refunds()
    raw, headers = world.fake.webhook("refund.processed", refunds[0], kind="refund")
    replay = await admin.post("/api/payments/webhook", data=raw, headers=headers)
    assert replay.status == 200 and (await replay.json())["status"] == "refund processed"
    assert len(world.fake.refunds) == 1
    kinds = LedgerTransaction.booking_id == booking_id
    assert (
        await world.count(LedgerTransaction, kinds, LedgerTransaction.kind == "dispute_refund") == 1
    )
    assert (
        await world.count(
            LedgerTransaction, LedgerTransaction.key == f"refund_paid:{refunds[0]['id']}"
        )
        == 1
    )
    assert await world.balances() == after
    assert await world.money.total() == 0

    # The audit log has the decision, with the values before and after.
    async with world.money.db.read() as s:
        entries = list(
            await s.scalars(select(AuditEntry).where(AuditEntry.subject_type == "dispute"))
        )
    assert [(e.action, e.subject_type, e.subject_id) for e in entries] == [
        ("dispute_decided", "dispute", dispute_id)
    ]
    assert entries[0].before == {"status": "open"}
    assert entries[0].after == {"status": "decided", "decision": "partial", "refund_paise": 5001}
    assert entries[0].note == "Checked the call's log."

    # Both sides are told: the report, then the decision with what it means for each.
    await world.site.server.app[NOTIFICATIONS].handle_events()
    async with world.money.db.read() as s:
        told = list(
            await s.scalars(
                select(Notification).where(Notification.kind == "dispute").order_by(Notification.id)
            )
        )
    by_user = {
        u: [n.title + " " + n.body for n in told if n.user_id == u]
        for u in (world.mentee_id, world.mentor_id)
    }
    assert len(by_user[world.mentee_id]) == len(by_user[world.mentor_id]) == 2
    assert "We got your report" in by_user[world.mentee_id][0]
    assert "reported a problem with your call" in by_user[world.mentor_id][0]
    assert "₹50.01 is refunded" in by_user[world.mentee_id][1]
    assert "debited ₹35.00" in by_user[world.mentor_id][1]
    assert "Checked the call's log." in by_user[world.mentor_id][1]

    # The mentee's receipt and the administrator's booking page say what was refunded.
    assert world.mentee is not None
    receipt = await (await world.mentee.get(f"/bookings/{booking_id}/receipt")).text()
    assert "₹50.01" in receipt and "Net paid" in receipt and "₹99.99" in receipt
    page = await (await admin.get(f"/admin/bookings/{booking_id}")).text()
    assert f'href="/admin/disputes#dispute-{dispute_id}"' in page
    assert "₹50.01 refunded in all" in page


async def test_a_full_refund_takes_back_everything_the_call_earned(world: World) -> None:
    booking_id = await world.call()
    dispute_id = (await (await world.open(booking_id)).json())["dispute"]["id"]
    admin, admin_token = await world.site.admin()
    decided = await decide(admin, admin_token, dispute_id, decision="full", refund_paise=1)
    assert (await decided.json())["dispute"]["refund_paise"] == PRICE  # the amount is ignored
    assert [r["amount"] for r in world.fake.refunds.values()] == [PRICE]
    assert await world.balances() == [0, 0, 0, 0]
    assert await world.money.total() == 0
    view = await (await admin.get(f"/api/admin/disputes/{dispute_id}")).json()
    assert view["dispute"]["refundable_paise"] == 0
    assert [line["kind"] for line in view["ledger"]] == [
        "capture",
        "settle",
        "dispute_refund",
        "refund_paid",
    ]


async def test_no_refund_moves_no_money(world: World) -> None:
    booking_id = await world.call()
    dispute_id = (await (await world.open(booking_id)).json())["dispute"]["id"]
    admin, admin_token = await world.site.admin()
    decided = await decide(admin, admin_token, dispute_id, decision="none", refund_paise=500)
    assert decided.status == 200
    assert (await decided.json())["dispute"]["refund_paise"] == 0
    assert world.fake.refunds == {}
    assert await world.balances() == [10500, 3690, 810, 0]
    assert await world.count(LedgerTransaction, LedgerTransaction.kind == "dispute_refund") == 0
    assert await world.count(AuditEntry, AuditEntry.subject_type == "dispute") == 1


async def test_a_decision_is_checked_before_anything_moves(world: World) -> None:
    booking_id = await world.call()
    dispute_id = (await (await world.open(booking_id)).json())["dispute"]["id"]
    admin, admin_token = await world.site.admin()
    for bad in (
        {"decision": "partial", "refund_paise": 0},
        {"decision": "partial", "refund_paise": PRICE},  # that is a full refund
        {"decision": "partial", "refund_paise": -5},
        {"decision": "partial", "refund_paise": 100, "note": "  "},
        {"decision": "maybe"},
    ):
        refused = await decide(admin, admin_token, dispute_id, **bad)
        assert refused.status == 400, bad
    assert (await decide(admin, admin_token, 999, decision="none")).status == 404
    assert (
        world.fake.refunds == {}
        and await world.count(AuditEntry, AuditEntry.subject_type == "dispute") == 0
    )
    assert (
        await decide(admin, admin_token, dispute_id, decision="partial", refund_paise=14999)
    ).status == 200


async def test_a_call_not_settled_yet_is_settled_before_the_refund(world: World) -> None:
    booking_id = await world.call(settle=False)  # the server stopped before moving the money
    dispute_id = (await (await world.open(booking_id)).json())["dispute"]["id"]
    admin, admin_token = await world.site.admin()
    decided = await decide(admin, admin_token, dispute_id, decision="partial", refund_paise=5000)
    assert decided.status == 200, await decided.text()
    assert await world.balances() == [10500 - 3500, 3690 - 1230, 810 - 270, 0]
    assert await world.money.total() == 0


async def test_a_second_refund_on_a_payment_refunded_in_part_is_told_apart(world: World) -> None:
    """A booking the policy refunded in half keeps the other half; a dispute can give that
    back too. Two refunds on one payment: each webhook settles its own, once."""
    booking_id = await world.call(slot=40, settle=False)  # 10 hours ahead when booked
    async with world.money.db.write() as s:
        booking = await s.get(Booking, booking_id)
        assert booking is not None
        booking.status = "confirmed"
    world.clock.now = booking.starts_at - timedelta(hours=10)
    cancelled = await world.mentee.post(  # type: ignore[union-attr]
        f"/api/bookings/{booking_id}/cancel", json={"reason": "clash"}, headers=world.headers()
    )
    assert (await cancelled.json())["booking"]["refund_paise"] == PRICE // 2
    async with world.money.db.write() as s:  # as if the call had taken place after all
        booking = await s.get(Booking, booking_id)
        assert booking is not None
        booking.status = "completed"
    world.clock.now = booking.booked_end + timedelta(hours=1)
    dispute_id = (await (await world.open(booking_id)).json())["dispute"]["id"]
    admin, admin_token = await world.site.admin()
    full = await decide(admin, admin_token, dispute_id, decision="full")
    assert (await full.json())["dispute"]["refund_paise"] == PRICE // 2
    refunds = list(world.fake.refunds.values())
    assert sorted(r["amount"] for r in refunds) == [PRICE // 2, PRICE // 2]
    for refund in refunds * 2:
        raw, headers = world.fake.webhook("refund.processed", refund, kind="refund")
        assert (await admin.post("/api/payments/webhook", data=raw, headers=headers)).status == 200
    for refund in refunds:
        key = LedgerTransaction.key == f"refund_paid:{refund['id']}"
        assert await world.count(LedgerTransaction, key) == 1
    assert await world.count(RefundRecord, RefundRecord.status == "processed") == 2
    assert await world.balances() == [0, 0, 0, 0]
    assert await world.money.total() == 0


async def test_pages_report_without_javascript_and_admins_decide(world: World) -> None:
    booking_id = await world.call()
    mentee = world.mentee
    assert mentee is not None
    dashboard = await (await mentee.get("/dashboard")).text()
    assert f'href="/bookings/{booking_id}/dispute">Report a problem' in dashboard
    page = await mentee.get(f"/bookings/{booking_id}/dispute")
    assert page.status == 200 and "7 days after the call" in await page.text()
    empty = await mentee.post(
        f"/bookings/{booking_id}/dispute",
        data={"reason": " ", "csrf_token": world.token},
        allow_redirects=False,
    )
    assert empty.status == 400 and "Say what went wrong." in await empty.text()
    nul = await mentee.post(
        f"/bookings/{booking_id}/dispute",
        data={"reason": "a\x00b", "csrf_token": world.token},
        allow_redirects=False,
    )
    assert nul.status == 400 and "must not contain NUL" in await nul.text()
    sent = await mentee.post(
        f"/bookings/{booking_id}/dispute",
        data={"reason": "He never shared his screen.", "csrf_token": world.token},
        allow_redirects=False,
    )
    assert sent.status == 303
    assert sent.headers["Location"] == f"/bookings/{booking_id}/dispute?opened=1"
    shown = await (await mentee.get(sent.headers["Location"])).text()
    assert "your report is in" in shown and "Waiting for a decision" in shown
    dashboard = await (await mentee.get("/dashboard")).text()
    assert "Report a problem" not in dashboard
    assert "Your report: waiting for a decision" in dashboard

    # Administrators only: the queue page and the API.
    assert (await mentee.get("/admin/disputes")).status == 403
    assert (await mentee.get("/api/admin/disputes")).status == 403
    assert (await mentee.get("/api/admin/disputes/1")).status == 403
    refused = await decide(mentee, world.token, 1, decision="full")
    assert refused.status == 403 and world.fake.refunds == {}
    admin, _token = await world.site.admin()
    queue = await admin.get("/admin/disputes")
    text = await queue.text()
    assert queue.status == 200 and "He never shared his screen." in text
    assert 'data-api="PUT /api/admin/disputes/1/decide"' in text
    listed = await (await admin.get("/api/admin/disputes?status=open")).json()
    assert listed["total"] == 1 and listed["items"][0]["refundable_paise"] == PRICE
    assert listed["items"][0]["mentee"]["email"] == "e@example.org"
    assert (await admin.get("/api/admin/disputes?status=decided")).status == 200
    assert (await (await admin.get("/api/admin/disputes?status=decided")).json())["total"] == 0

    # Past the window, the report still shows on the dashboard; nothing more to report.
    world.clock.now += timedelta(days=8)
    dashboard = await (await mentee.get("/dashboard")).text()
    assert "Report a problem" not in dashboard and "Your report:" in dashboard
