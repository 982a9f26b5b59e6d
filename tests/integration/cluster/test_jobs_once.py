"""Two nodes on one PostgreSQL running their sweeps at the same moments, a hundred times over a
set of due work: each piece is done once (counted by its side effects)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from billing.ledger import SplitRules, settle
from server.app import create_app
from server.calls.service import CALLS
from server.db.models import Booking, DomainEvent, LedgerTransaction, Payout
from server.payments.money import MONEY
from tests.conftest import FAST_PASSWORDS, FakeClock, make_config
from tests.integration.cluster.nodes import SECRET
from tests.support.booking import Site, book, first_slot
from tests.support.fake_razorpay import FakeRazorpay, razorpay_env
from tests.support.postgres import fresh_database

SWEEPS = 100
PAID, UNPAID = 6, 4


async def test_two_nodes_sweeping_at_once_do_each_item_once(
    postgres: str, tmp_path: Path, aiohttp_client: Any, aiohttp_server: Any
) -> None:
    fake = FakeRazorpay()
    gateway = f"http://127.0.0.1:{(await aiohttp_server(fake.app())).port}"
    url = await fresh_database(postgres)
    clock = FakeClock()
    nodes = []
    for name in ("node-a", "node-b"):
        config = make_config(
            tmp_path / name,
            MICROMENTOR_DATABASE_URL=url,
            MICROMENTOR_CLUSTER_NODE_NAME=name,
            MICROMENTOR_SERVER_SECRET_KEY=SECRET,
            **razorpay_env(fake, gateway),
        )
        app = create_app(config, clock=clock, passwords=FAST_PASSWORDS)
        nodes.append(await aiohttp_client(app))
    site = Site(nodes[0].server, aiohttp_client)

    # The due work: orders paid at the gateway whose callback never came, holds never paid,
    # and a mentor's wallet for the weekly payout batch.
    mentor, mentor_id, token = await site.mentor()
    details = {"method": "upi", "upi_id": "meera.nair@okaxis"}
    await mentor.put("/api/payouts/details", json=details, headers={"X-CSRF-Token": token})
    paid: dict[int, str] = {}
    unpaid: list[int] = []
    for n in range(PAID + UNPAID):
        mentee, _id, mentee_token = await site.user(f"mentee{n}@example.org")
        slot = await first_slot(mentee, mentor_id, n + 2)
        created = await (await book(mentee, mentee_token, mentor_id, slot)).json()
        if n < PAID:
            fake.pay(created["order"]["order_id"])
            paid[created["booking"]["id"]] = created["order"]["order_id"]
        else:
            unpaid.append(created["booking"]["id"])
    money = nodes[0].app[MONEY]
    async with money.db.write() as s:
        for call in range(8):  # past the minimum payout
            await money.post(s, settle(900_000 + call, mentor_id, 10000, SplitRules()))
    asked_before = len(fake.requests)

    sweeps = [client.app[CALLS]._on_sweep for client in nodes]
    for round_ in range(SWEEPS):
        if round_ == SWEEPS // 2:
            clock.advance(minutes=3)  # the orders are old enough to ask the gateway about
        if round_ == SWEEPS * 3 // 4:
            clock.advance(minutes=15)  # the unpaid holds have expired
        await asyncio.gather(*(sweep() for sweep in sweeps))  # both nodes at once

    asked = Counter(fake.requests[asked_before:])
    for order_id in paid.values():
        assert asked[f"GET /v1/orders/{order_id}/payments"] == 1, asked
    async with money.db.read() as s:
        payments = Counter(
            await s.scalars(
                select(LedgerTransaction.booking_id).where(LedgerTransaction.kind == "capture")
            )
        )
        confirmed = Counter(
            await s.scalars(
                select(DomainEvent.subject_id).where(DomainEvent.kind == "booking_confirmed")
            )
        )
        statuses = dict((await s.execute(select(Booking.id, Booking.status))).all())
        payouts = await s.scalar(select(func.count()).select_from(Payout))
    assert {b: payments[b] for b in paid} == dict.fromkeys(paid, 1), payments
    assert {b: confirmed[b] for b in paid} == dict.fromkeys(paid, 1), confirmed
    assert [statuses[b] for b in paid] == ["confirmed"] * PAID
    assert [statuses[b] for b in unpaid] == ["expired"] * UNPAID
    assert payouts == 1
    assert await money.total() == 0
