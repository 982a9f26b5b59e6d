"""A mentee reports a problem with a past call from the dashboard, and an administrator decides
it with a partial refund, on a phone: both pages fit 375 px and pass axe."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Dialog, expect

from server.app import create_app
from server.db.models import Booking
from server.payments.money import MONEY
from tests.browser.conftest import csp_violations, logged_in_page, look
from tests.conftest import FAST_PASSWORDS
from tests.support.booking import Site, book, first_slot, pay

pytestmark = pytest.mark.browser


async def test_report_a_problem_and_decide_it(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, config: Any, shots: Path
) -> None:
    server = await aiohttp_server(create_app(config, passwords=FAST_PASSWORDS))
    site = Site(server, aiohttp_client)
    _mentor, mentor_id, _token = await site.mentor()
    mentee, _id, token = await site.user("e@example.org")
    created = await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id, 8))
    booking_id = (await pay(mentee, token, created))["id"]
    money = server.app[MONEY]
    async with money.db.write() as s:  # the call took place
        booking = await s.get(Booking, booking_id)
        assert booking is not None
        booking.status, booking.call_started_at = "completed", booking.starts_at
        booking.call_ended_at = booking.starts_at + timedelta(minutes=20)
    await money.outcome(booking_id, "completed")
    base = f"http://127.0.0.1:{server.port}"

    page = await logged_in_page(browser, base, "e@example.org")
    await page.get_by_role("link", name="Report a problem").click()
    await page.wait_for_url(f"**/bookings/{booking_id}/dispute")
    await look(page, shots, "dispute-form")
    reason = page.get_by_label("What went wrong?")
    await reason.fill("The mentor joined 20 minutes late and left early.")
    await expect(page.locator("#f-reason-count")).to_have_text("49 of 2,000 characters")
    await page.get_by_role("button", name="Report the problem").click()
    await page.wait_for_url("**/dispute?opened=1")
    await expect(page.get_by_role("status")).to_contain_text("your report is in")
    await look(page, shots, "dispute-opened")

    admin = await logged_in_page(browser, base, "root@example.org", then="/admin/disputes")
    await look(admin, shots, "admin-disputes")
    await admin.get_by_label("Partial refund", exact=True).check()
    amount = admin.get_by_label("Partial refund, in rupees")
    await amount.fill("33.333")  # a third of a paisa: refused before anything is sent
    await admin.get_by_label("Note").fill("Half the call was lost.")
    await admin.get_by_role("button", name="Decide").click()
    await expect(admin.locator('.error[data-for="refund_paise"]')).to_contain_text(
        "amount in rupees"
    )
    await amount.fill("50")
    asked: list[str] = []

    async def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await (dialog.dismiss() if len(asked) == 1 else dialog.accept())

    admin.on("dialog", answer)
    await admin.get_by_role("button", name="Decide").click()  # the first time, "Cancel"
    await expect(admin.locator(".dispute-case .badge")).to_have_text("open")
    await admin.get_by_role("button", name="Decide").click()
    await admin.wait_for_url("**/admin/disputes?decided=*")
    await expect(admin.get_by_role("status")).to_contain_text("is decided")
    await expect(admin.locator(".dispute-case")).to_contain_text("Partial refund of ₹50.00")
    await look(admin, shots, "admin-disputes-decided")
    assert len(asked) == 2 and "cannot be undone" in asked[0]
    assert await csp_violations(page) == [] and await csp_violations(admin) == []
