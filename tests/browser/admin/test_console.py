"""An administrator opens the console on a phone: what waits, the links, and every revenue and
activity chart drawn (server-side SVG), and the CSV downloads."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from billing.ledger import SplitRules, capture, payout, refund, settle
from server.accounts.service import ACCOUNTS
from server.app import create_app
from server.db.models import Booking
from server.payments.money import MONEY
from tests.browser.conftest import csp_violations, logged_in_page, look
from tests.conftest import FAST_PASSWORDS, PASSWORD, make_config, register

pytestmark = pytest.mark.browser
TITLES = [
    "Gross bookings",
    "Platform revenue",
    "GST payable",
    "TDS payable",
    "Refunds",
    "Mentor payouts",
    "Calls completed",
    "No-shows",
]


async def test_the_console_draws_every_chart_on_a_phone(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    server = await aiohttp_server(create_app(make_config(tmp_path), passwords=FAST_PASSWORDS))
    api = await aiohttp_client(server)
    mentor = (await register(api, "meera@example.org", "mentor", "Meera Nair"))["user"]["id"]
    mentee = (await register(api, "kiran@example.org", "mentee", "Kiran Rao"))["user"]["id"]
    await server.app[ACCOUNTS].make_admin("root@example.org", PASSWORD, "Root")
    money = server.app[MONEY]
    now = money.clock()
    async with money.db.write() as s:  # today: a completed call, a no-show, a payout
        calls = [
            Booking(
                mentor_id=mentor,
                mentee_id=mentee,
                starts_at=now - timedelta(hours=hours),
                duration_seconds=1800,
                status=status,
                no_show_role="mentor" if status == "no_show" else None,
                call_ended_at=now - timedelta(hours=hours - 0.5) if status == "completed" else None,
                created_at=now - timedelta(days=2),
            )
            for hours, status in ((3, "completed"), (2, "no_show"))
        ]
        s.add_all(calls)
        await s.flush()
        done, missed = (call.id for call in calls)
        rules = SplitRules()
        for transaction in (
            capture(done, "pay_1", 15000),
            settle(done, mentor, 15000, rules),
            capture(missed, "pay_2", 15000),
            refund(missed, mentor, 15000, 15000, rules),
            payout(1, mentor, 10500, 105),
        ):
            await money.post(s, transaction)

    base = f"http://127.0.0.1:{server.port}"
    page = await logged_in_page(browser, base, "root@example.org", then="/admin")
    await expect(page.get_by_role("heading", name="Administration")).to_be_visible()
    charts = page.locator("section.chart")
    await expect(charts).to_have_count(len(TITLES))
    assert await charts.locator("h3").all_inner_texts() == TITLES  # visible titles
    for i, title in enumerate(TITLES):
        chart = charts.nth(i)
        svg = chart.locator("svg")
        await expect(svg).to_be_visible()
        await expect(svg).to_have_attribute("role", "img")
        box = await svg.bounding_box()
        assert box is not None and box["width"] > 250 and box["height"] > 120, title
        marks = [await m.bounding_box() for m in await svg.locator("rect.bar, path").all()]
        drawn = [b for b in marks if b and b["width"] > 0 and b["height"] > 0]
        assert drawn, f"{title}: nothing drawn"
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, f"{title}: wider than the phone"
    await charts.nth(0).get_by_text("The figures").click()  # the figures, as a table
    await expect(charts.nth(0).locator("tfoot")).to_contain_text("₹300.00")
    await look(page, shots, "admin-home")
    assert await csp_violations(page) == []

    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download CSV").click()
    download = await downloading.value
    assert download.suggested_filename.endswith(".csv")
    lines = (await asyncio.to_thread(Path(await download.path()).read_text)).splitlines()
    assert lines[0].startswith("bucket,from,to,gross_bookings_paise,gross_bookings_rupees")
    assert len(lines) == 32  # the header, 30 days, the totals
    assert lines[-1].startswith("total,") and ",30000,300.00," in lines[-1]
