"""An administrator on a phone finds a user, suspends them through the form (no JavaScript
needed), and reads the bookings, one booking's money trail and the audit log: every page fits
375 px and passes axe."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from billing.ledger import SplitRules, capture, refund
from server.accounts.service import ACCOUNTS
from server.app import create_app
from server.db.models import Booking
from server.payments.money import MONEY
from tests.browser.conftest import csp_violations, logged_in_page, look
from tests.conftest import FAST_PASSWORDS, PASSWORD, make_config, register

pytestmark = pytest.mark.browser


async def test_users_bookings_and_the_audit_log_on_a_phone(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    server = await aiohttp_server(create_app(make_config(tmp_path), passwords=FAST_PASSWORDS))
    api = await aiohttp_client(server)
    mentor = (await register(api, "meera.nair.long.address@example.org", "mentor", "Meera Nair"))[
        "user"
    ]["id"]
    mentee = (await register(api, "kiran@example.org", "mentee", "Kiran Rao"))["user"]["id"]
    await server.app[ACCOUNTS].make_admin("root@example.org", PASSWORD, "Root")
    money = server.app[MONEY]
    now = money.clock()
    async with money.db.write() as s:  # a call cancelled by its mentee, half refunded
        booking = Booking(
            mentor_id=mentor,
            mentee_id=mentee,
            starts_at=now + timedelta(hours=10),
            duration_seconds=1800,
            status="cancelled",
            topic="System Design",
            amount_paise=15000,
            paid_paise=15000,
            refund_paise=7500,
            money_state="refunded",
            cancelled_at=now,
            cancelled_by="mentee",
            cancel_reason="exam moved",
            created_at=now - timedelta(days=1),
        )
        s.add(booking)
        await s.flush()
        for transaction in (
            capture(booking.id, "pay_1", 15000),
            refund(booking.id, mentor, 15000, 7500, SplitRules()),
        ):
            await money.post(s, transaction, booking.id)

    base = f"http://127.0.0.1:{server.port}"
    page = await logged_in_page(browser, base, "root@example.org", then="/admin/users")
    await expect(page.get_by_role("heading", name="Users")).to_be_visible()
    await look(page, shots, "admin-users")

    await page.get_by_label("Name or email").fill("kiran")
    await page.get_by_role("button", name="Find users").click()
    await page.get_by_role("link", name="Kiran Rao").click()
    await expect(page.get_by_role("heading", name="Kiran Rao")).to_be_visible()
    await page.get_by_label("Why suspend this account?").fill("Repeated abusive messages.")
    await page.get_by_role("button", name="Suspend").click()
    await expect(page.get_by_role("status")).to_contain_text("The account is suspended")
    await expect(page.get_by_text("user suspended")).to_be_visible()
    await look(page, shots, "admin-user-suspended")

    await page.goto(f"{base}/admin/bookings")
    await page.get_by_role("link", name=f"#{booking.id} · System Design").click()
    ledger = page.locator(".trail > li")
    await expect(ledger).to_have_count(2)
    await expect(ledger.locator("caption")).to_contain_text(["capture", "refund"])
    await expect(page.get_by_text("₹75.00").first).to_be_visible()
    await look(page, shots, "admin-booking")
    await page.goto(f"{base}/admin/bookings?status=cancelled")
    await look(page, shots, "admin-bookings")

    await page.goto(f"{base}/admin/audit")
    await expect(page.get_by_text("Repeated abusive messages.").first).to_be_visible()
    await look(page, shots, "admin-audit")
    assert await csp_violations(page) == []
