"""The revenue and activity report against a history made through the real app: paid
bookings, a settled call, a no-show refund, a cancellation, a failed and a paid payout, over
four days. Its totals equal the ledger's own sums for the same period, computed here with SQL;
the buckets add up to them; the CSV, the JSON and the page show the same numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from billing.ledger import GST_PAYABLE, PLATFORM_REVENUE, REFUNDS, TDS_PAYABLE
from server.app import create_app
from server.db.models import Booking, LedgerEntry, LedgerTransaction
from server.http.formats import rupees
from server.payments.money import MONEY, Money
from tests.conftest import FAST_PASSWORDS, FakeClock, make_config
from tests.support.booking import PROFILE, Site, book, first_slot, pay

Client = TestClient[Any, Any]
MONEY_KEYS = (
    "gross_bookings_paise",
    "platform_revenue_paise",
    "gst_payable_paise",
    "tds_payable_paise",
    "refunds_paise",
    "mentor_payouts_paise",
)
KEYS = (*MONEY_KEYS, "calls_completed", "no_shows")


async def ledger_sums(money: Money, start: datetime, end: datetime) -> dict[str, int]:
    """Each figure straight from the ledger tables, for transactions made in [start, end)."""

    async def total(*where: Any) -> int:
        async with money.db.read() as s:
            found = await s.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount_paise), 0))
                .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
                .where(
                    LedgerTransaction.created_at >= start,
                    LedgerTransaction.created_at < end,
                    *where,
                )
            )
        return int(found or 0)

    payouts = LedgerTransaction.kind.in_(("payout", "payout_failed"))
    return {
        "gross_bookings_paise": await total(
            LedgerTransaction.kind == "capture", LedgerEntry.account.like("escrow:%")
        ),
        "platform_revenue_paise": await total(LedgerEntry.account == PLATFORM_REVENUE),
        "gst_payable_paise": await total(LedgerEntry.account == GST_PAYABLE),
        "tds_payable_paise": await total(LedgerEntry.account == TDS_PAYABLE),
        "refunds_paise": await total(LedgerEntry.account == REFUNDS, LedgerEntry.amount_paise > 0),
        "mentor_payouts_paise": -await total(payouts, LedgerEntry.account.like("wallet:%")),
    }


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
async def site(tmp_path: Path, aiohttp_client: Any) -> Site:
    config = make_config(tmp_path)
    client = await aiohttp_client(create_app(config, clock=FakeClock(), passwords=FAST_PASSWORDS))
    return Site(client.server, aiohttp_client)


@pytest.fixture
async def history(tmp_path: Path, aiohttp_client: Any) -> tuple[Site, Client, FakeClock]:
    """Four days of money (the clock starts on Saturday 21 Nov 2026, 10:00 UTC)."""
    clock = FakeClock()
    config = make_config(
        tmp_path,
        MICROMENTOR_BILLING_MIN_PAYOUT_PAISE="0",
        MICROMENTOR_BILLING_TDS_THRESHOLD_PAISE="0",  # TDS on every payout
    )
    client = await aiohttp_client(create_app(config, clock=clock, passwords=FAST_PASSWORDS))
    site = Site(client.server, aiohttp_client)
    mentor, mentor_id, mentor_token = await site.mentor()
    admin, admin_token = site._admin
    mentee, _mentee_id, token = await site.user("e@example.org")
    booked = []
    for index in (8, 8, 120):  # two in about two hours, one a day and a half ahead
        created = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id, index))
        assert created.status == 201, await created.text()
        booked.append((await pay(mentee, token, created))["id"])
    completed, no_show, cancelled = booked
    money = client.app[MONEY]
    async with money.db.write() as s:  # how the calls went (the call service's part)
        await s.execute(
            update(Booking)
            .where(Booking.id == completed)
            .values(status="completed", call_ended_at=clock.now + timedelta(hours=3))
        )
        await s.execute(
            update(Booking)
            .where(Booking.id == no_show)
            .values(status="no_show", no_show_role="mentor")
        )

    clock.advance(days=1)  # Sunday: the money follows
    await money.outcome(completed, "completed")
    await money.outcome(no_show, "mentor_no_show")
    cancel = await mentee.post(
        f"/api/bookings/{cancelled}/cancel",
        json={"reason": "exams"},
        headers={"X-CSRF-Token": token},
    )
    assert cancel.status == 200, await cancel.text()

    clock.advance(days=1)  # Monday: a payout fails, then one is paid
    headers, admin_headers = {"X-CSRF-Token": mentor_token}, {"X-CSRF-Token": admin_token}
    upi = {"method": "upi", "upi_id": "meera@okaxis"}
    assert (await mentor.put("/api/payouts/details", json=upi, headers=headers)).status == 200
    for outcome in ("failed", "paid"):
        created = await mentor.post("/api/payouts", headers=headers)
        assert created.status == 201, await created.text()
        payout = (await created.json())["payout"]
        assert payout["tds_paise"] > 0
        settled = await admin.put(
            f"/api/admin/payouts/{payout['id']}/{outcome}",
            json={"reference": "UTR1"},
            headers=admin_headers,
        )
        assert settled.status == 200, await settled.text()
    waiting, _id, waiting_token = await site.user("waiting@example.org", "mentor")
    applied = await waiting.post(  # an application waits for a decision
        "/api/mentors/apply", json=PROFILE, headers={"X-CSRF-Token": waiting_token}
    )
    assert applied.status == 201, await applied.text()
    return site, admin, clock


async def revenue(admin: Client, **query: str) -> dict[str, Any]:
    response = await admin.get("/api/admin/revenue", params=query)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_the_report_equals_the_ledger_and_its_buckets_add_up(
    history: tuple[Site, Client, FakeClock],
) -> None:
    site, admin, _clock = history
    money = site.server.app[MONEY]
    report = await revenue(admin, **{"from": "2026-11-20", "to": "2026-11-24"})
    assert (report["period"], report["tz"], len(report["buckets"])) == ("day", "UTC", 5)
    start, end = instant(report["starts_at"]), instant(report["ends_at"])
    assert (start, end) == (datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))
    totals = report["totals"]
    assert {k: totals[k] for k in MONEY_KEYS} == await ledger_sums(money, start, end)
    for key in KEYS:
        assert sum(b[key] for b in report["buckets"]) == totals[key], key
    # Everything happened in the period: the totals are the accounts' balances too.
    assert totals["platform_revenue_paise"] == await money.balance(PLATFORM_REVENUE)
    assert totals["gst_payable_paise"] == await money.balance(GST_PAYABLE)
    assert totals["tds_payable_paise"] == await money.balance(TDS_PAYABLE)
    day = {b["label"]: b for b in report["buckets"]}
    assert day["2026-11-21"]["gross_bookings_paise"] == 3 * 15000  # three ₹150 calls paid
    assert day["2026-11-21"]["calls_completed"] == day["2026-11-21"]["no_shows"] == 1
    assert day["2026-11-22"]["refunds_paise"] >= 15000  # the no-show's, and the cancellation's
    assert day["2026-11-22"]["platform_revenue_paise"] > 0
    paid_out = day["2026-11-23"]["mentor_payouts_paise"]
    assert paid_out > 0 and day["2026-11-23"]["tds_payable_paise"] > 0  # the failed one is netted
    assert paid_out == sum(b["mentor_payouts_paise"] for b in report["buckets"])
    assert all(v == 0 for k, v in day["2026-11-20"].items() if k in KEYS)

    one_day = await revenue(admin, **{"from": "2026-11-22", "to": "2026-11-22"})
    a, b = instant(one_day["starts_at"]), instant(one_day["ends_at"])
    sums = await ledger_sums(money, a, b)
    assert {k: one_day["totals"][k] for k in MONEY_KEYS} == sums
    assert sums["gross_bookings_paise"] == 0 and sums["refunds_paise"] > 0


async def test_weeks_and_months_in_a_time_zone_reconcile_too(
    history: tuple[Site, Client, FakeClock],
) -> None:
    site, admin, _clock = history
    money = site.server.app[MONEY]
    for query in (
        {"period": "week", "tz": "Asia/Kolkata"},
        {"period": "month", "tz": "America/Los_Angeles"},
        {"period": "day", "tz": "Pacific/Kiritimati", "from": "2026-11-22", "to": "2026-11-23"},
    ):
        report = await revenue(admin, **query)
        start, end = instant(report["starts_at"]), instant(report["ends_at"])
        totals = report["totals"]
        assert {k: totals[k] for k in MONEY_KEYS} == await ledger_sums(money, start, end), query
        for key in KEYS:
            assert sum(b[key] for b in report["buckets"]) == totals[key], (query, key)
    weeks = await revenue(admin, period="week", tz="Asia/Kolkata")
    assert len(weeks["buckets"]) == 12 and weeks["buckets"][-1]["label"] == "2026-W48"
    assert weeks["buckets"][-2]["label"] == "2026-W47"  # Saturday and Sunday, then Monday
    assert weeks["buckets"][-2]["gross_bookings_paise"] == 45000
    assert weeks["buckets"][-1]["mentor_payouts_paise"] > 0
    # 10:00 UTC on 21 Nov is already 22 Nov on Kiritimati (UTC+14)
    kiritimati = await revenue(admin, tz="Pacific/Kiritimati", **{"from": "2026-11-22"})
    assert kiritimati["buckets"][0]["gross_bookings_paise"] == 45000


async def test_the_csv_and_the_page_show_the_same_numbers(
    history: tuple[Site, Client, FakeClock],
) -> None:
    _site, admin, _clock = history
    query = {"from": "2026-11-20", "to": "2026-11-24", "period": "day", "tz": "UTC"}
    report = await revenue(admin, **query)
    response = await admin.get("/admin/revenue.csv", params=query)
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(rows) == len(report["buckets"]) + 1
    for row, bucket in zip(
        rows, [*report["buckets"], {"label": "total", **report["totals"]}], strict=True
    ):
        assert row["bucket"] == bucket["label"]
        for key in KEYS:
            assert int(row[key]) == bucket[key], key
        for key in MONEY_KEYS:
            rupee_column = row[key.removesuffix("_paise") + "_rupees"]
            assert round(float(rupee_column) * 100) == bucket[key]

    page = await admin.get("/admin", params=query)
    assert page.status == 200
    html = await page.text()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == len(KEYS)
    for key in MONEY_KEYS:
        assert rupees(report["totals"][key], exact=True) in html, key
    assert (
        'href="/admin/revenue.csv?period=day&amp;from=2026-11-20&amp;to=2026-11-24&amp;tz=UTC"'
        in html
    )
    assert "<strong>1</strong> mentor applications" in html
    assert "<strong>0</strong> payouts to transfer" in html
    for path in ("/admin/users", "/admin/bookings", "/admin/disputes", "/admin/reviews",
                 "/admin/mentors", "/admin/payouts", "/admin/outbox", "/admin/audit"):  # fmt: skip
        assert f'href="{path}"' in html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"period": "fortnight"}, "period"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"tz": "Atlantis/Capital"}, "tz"),
        ({"from": "2026-11-24", "to": "2026-11-20"}, "from"),
        ({"from": "2020-01-01", "to": "2026-11-20"}, "from"),  # thousands of days
    ],
)
async def test_a_bad_query_is_a_400_naming_the_field(
    site: Site, query: dict[str, str], field: str
) -> None:
    admin, _token = await site.admin()
    response = await admin.get("/api/admin/revenue", params=query)
    assert response.status == 400
    assert (await response.json())["error"]["field"] == field
    assert (await admin.get("/admin/revenue.csv", params=query)).status == 400
    page = await admin.get("/admin", params=query)
    assert page.status == 400
    assert 'aria-invalid="true"' in await page.text()
    months = await admin.get("/api/admin/revenue", params={"period": "month", "from": "2000-01-01"})
    assert months.status == 200  # 323 months fit


async def test_only_administrators_see_the_console(site: Site) -> None:
    mentee, _id, _token = await site.user("nosy@example.org")
    for path in ("/admin", "/admin/revenue.csv", "/api/admin/revenue"):
        assert (await mentee.get(path)).status == 403, path
    anonymous = await site.make_client(site.server)
    assert (await anonymous.get("/api/admin/revenue")).status == 401
