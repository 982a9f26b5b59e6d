"""Payouts: encrypted details, withdrawals with a minimum, TDS, the weekly batch, and the
administrator's transfers, all recorded in the ledger; and receipts."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from billing.ledger import PAYOUTS, TDS_PAYABLE, SplitRules, settle, wallet
from server.app import create_app
from server.payments.money import MONEY
from server.payments.payouts import PAYOUTS as PAYOUTS_KEY
from tests.conftest import FAST_PASSWORDS, FakeClock, make_config
from tests.support.booking import Site, book, first_slot, pay

Client = TestClient[Any, Any]
UPI = {"method": "upi", "upi_id": "meera.nair@okaxis"}


async def site_with(tmp_path: Path, aiohttp_client: Any, **env: str) -> Site:
    client = await aiohttp_client(
        create_app(make_config(tmp_path, **env), clock=FakeClock(), passwords=FAST_PASSWORDS)
    )
    return Site(client.server, aiohttp_client)


CALL_NUMBERS = itertools.count(10_000)


async def earn(client: Client, mentor_id: int, calls: int) -> None:
    """Puts `calls` settled ₹100 calls in the mentor's wallet (₹70 each)."""
    money = client.app[MONEY]  # type: ignore[index]
    async with money.db.write() as s:
        for _ in range(calls):
            await money.post(s, settle(next(CALL_NUMBERS), mentor_id, 10000, SplitRules()))


async def test_details_are_validated_masked_and_encrypted(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    site = await site_with(tmp_path, aiohttp_client)
    mentor, _id, token = await site.mentor()
    headers = {"X-CSRF-Token": token}
    for body, field in [
        ({"method": "upi", "upi_id": "not-an-upi"}, "upi_id"),
        (
            {
                "method": "bank",
                "account_number": "12",
                "ifsc": "HDFC0001234",
                "account_holder": "M",
            },
            "account_number",
        ),
        (
            {
                "method": "bank",
                "account_number": "123456789012",
                "ifsc": "hdfc1",
                "account_holder": "M",
            },
            "ifsc",
        ),
        ({"method": "card"}, "method"),
    ]:
        response = await mentor.put("/api/payouts/details", json=body, headers=headers)
        assert (await response.json())["error"]["field"] == field, body
    saved = await mentor.put("/api/payouts/details", json=UPI, headers=headers)
    assert (await saved.json())["masked"] == "me…@okaxis"
    shown = await (await mentor.get("/api/payouts/details")).json()
    assert shown == {"method": "upi", "masked": "me…@okaxis"}
    money = mentor.app[MONEY]  # type: ignore[index]
    async with money.db.read() as s:
        stored = (await s.execute(text("SELECT details_encrypted FROM payout_accounts"))).scalar()
    assert "meera.nair" not in stored


async def test_withdraw_pay_and_fail_through_the_ledger(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    site = await site_with(tmp_path, aiohttp_client)
    mentor, mentor_id, token = await site.mentor()
    headers = {"X-CSRF-Token": token}
    no_details = await mentor.post("/api/payouts", headers=headers)
    assert (await no_details.json())["error"]["code"] == "no_payout_details"
    await mentor.put("/api/payouts/details", json=UPI, headers=headers)
    await earn(mentor, mentor_id, 7)  # ₹490: under the ₹500 minimum
    low = await mentor.post("/api/payouts", headers=headers)
    assert (await low.json())["error"]["code"] == "below_minimum"
    await earn(mentor, mentor_id, 1)  # ₹560 in all (8 calls)
    created = await mentor.post("/api/payouts", headers=headers)
    assert created.status == 201, await created.text()
    payout = (await created.json())["payout"]
    assert (payout["amount_paise"], payout["tds_paise"], payout["status"]) == (56000, 0, "pending")
    money = mentor.app[MONEY]  # type: ignore[index]
    assert await money.balance(wallet(mentor_id)) == 0
    assert await money.balance(PAYOUTS) == 56000

    admin, admin_token = site._admin  # the admin who approved the mentor
    admin_headers = {"X-CSRF-Token": admin_token}
    assert (
        await mentor.put(
            f"/api/admin/payouts/{payout['id']}/paid", json={"reference": "x"}, headers=headers
        )
    ).status == 403
    missing = await admin.put(
        f"/api/admin/payouts/{payout['id']}/paid", json={}, headers=admin_headers
    )
    assert (await missing.json())["error"]["field"] == "reference"
    page = await (await admin.get("/admin/payouts")).text()
    assert "meera.nair@okaxis" in page  # the administrator sees where to send it
    paid = await admin.put(
        f"/api/admin/payouts/{payout['id']}/paid",
        json={"reference": "UTR123456"},
        headers=admin_headers,
    )
    assert (await paid.json())["payout"]["status"] == "completed"
    assert await money.balance(PAYOUTS) == 0
    again = await admin.put(
        f"/api/admin/payouts/{payout['id']}/failed", json={}, headers=admin_headers
    )
    assert (await again.json())["error"]["code"] == "already_settled"

    await earn(mentor, mentor_id, 8)
    second = (await (await mentor.post("/api/payouts", headers=headers)).json())["payout"]
    failed = await admin.put(
        f"/api/admin/payouts/{second['id']}/failed", json={}, headers=admin_headers
    )
    assert (await failed.json())["payout"]["status"] == "failed"
    assert await money.balance(wallet(mentor_id)) == 56000  # back in the wallet
    assert await money.total() == 0
    audit = await (await admin.get("/api/admin/audit?subject=payout:" + str(second["id"]))).json()
    assert [(e["action"], e["before"], e["after"]) for e in audit["items"]] == [
        ("payout_failed", {"status": "pending"}, {"status": "failed", "reference": ""})
    ]
    audit = await (await admin.get("/api/admin/audit?action=payout_paid")).json()
    assert [e["after"] for e in audit["items"]] == [
        {"status": "completed", "reference": "UTR123456"}
    ]


async def test_tds_once_the_years_payouts_pass_the_threshold(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    site = await site_with(
        tmp_path, aiohttp_client, MICROMENTOR_BILLING_TDS_THRESHOLD_PAISE="60000"
    )
    mentor, mentor_id, token = await site.mentor()
    headers = {"X-CSRF-Token": token}
    await mentor.put("/api/payouts/details", json=UPI, headers=headers)
    await earn(mentor, mentor_id, 8)
    first = (await (await mentor.post("/api/payouts", headers=headers)).json())["payout"]
    assert first["tds_paise"] == 0  # ₹560 this year: under ₹600
    await earn(mentor, mentor_id, 8)
    second = (await (await mentor.post("/api/payouts", headers=headers)).json())["payout"]
    assert (second["tds_paise"], second["net_paise"]) == (560, 55440)  # 1% once past it
    money = mentor.app[MONEY]  # type: ignore[index]
    assert await money.balance(TDS_PAYABLE) == 560


async def test_the_weekly_batch_pays_each_wallet_once_a_week(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    site = await site_with(tmp_path, aiohttp_client)
    mentor, mentor_id, token = await site.mentor()
    await mentor.put("/api/payouts/details", json=UPI, headers={"X-CSRF-Token": token})
    await earn(mentor, mentor_id, 8)
    payouts = mentor.app[PAYOUTS_KEY]  # type: ignore[index]
    assert await payouts.weekly_batch() == 1
    await earn(mentor, mentor_id, 8)
    assert await payouts.weekly_batch() == 0  # once a week
    listed = await (await mentor.get("/api/payouts")).json()
    assert [p["batch"] for p in listed["items"]] == ["2026-W47"]


async def test_a_receipt_has_the_tax_lines(site: Site) -> None:
    _mentor, mentor_id, _t = await site.mentor()
    mentee, _id, token = await site.user("e@example.org")
    created = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id))
    booking = await pay(mentee, token, created)
    page = await (await mentee.get(f"/bookings/{booking['id']}/receipt")).text()
    for line in ("Mentor's fee", "₹105.00", "₹36.90", "₹8.10", "₹150.00"):
        assert line in page, line
    stranger, _sid, _st = await site.user("s@example.org")
    assert (
        await stranger.get(f"/bookings/{booking['id']}/receipt", headers={"Accept": "text/html"})
    ).status == 404


@pytest.fixture
async def site(client: Client, aiohttp_client: Any) -> Site:
    return Site(client.server, aiohttp_client)
