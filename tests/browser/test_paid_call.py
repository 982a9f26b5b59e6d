"""A mentee books and pays through the test-payment simulator, the call runs, and the
mentor's wallet shows ₹70.00."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from server.accounts.service import ACCOUNTS
from server.app import create_app
from tests.browser.conftest import csp_violations, logged_in_page
from tests.conftest import FAST_PASSWORDS, PASSWORD, login, make_config, register

pytestmark = pytest.mark.browser


async def test_book_pay_call_and_the_mentor_is_paid(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    config = make_config(
        tmp_path,
        MICROMENTOR_MEDIA_ICE_ADDRESSES="127.0.0.1",
        MICROMENTOR_CALLS_DURATION_SECONDS="8",
        MICROMENTOR_CALLS_WARNING_SECONDS="3",
        MICROMENTOR_CALLS_MIN_COMPLETED_SECONDS="3",
        MICROMENTOR_BOOKING_MIN_NOTICE_MINUTES="0",
        MICROMENTOR_BOOKING_BUFFER_MINUTES="0",
        MICROMENTOR_BOOKING_JOIN_EARLY_MINUTES="60",
        # A day of 8-second slots (10,800), not the default 30 days' worth: quicker to list.
        MICROMENTOR_BOOKING_HORIZON_DAYS="1",
    )
    server = await aiohttp_server(create_app(config, passwords=FAST_PASSWORDS))
    api = await aiohttp_client(server)
    mentor_id = (await register(api, "meera@example.org", "mentor", "Meera Nair"))["user"]["id"]
    headers = {"X-CSRF-Token": await login(api, "meera@example.org")}
    await api.post(
        "/api/mentors/apply",
        headers=headers,
        json={"headline": "Staff engineer", "bio": "Distributed systems.", "skills": ["DSA"]},
    )
    await api.put(
        "/api/mentors/availability",
        headers=headers,
        json={
            "timezone": "UTC",
            "weekly": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)],
        },
    )
    await server.app[ACCOUNTS].make_admin("root@example.org", PASSWORD, "Root")
    admin = await aiohttp_client(server)
    admin_token = await login(admin, "root@example.org")
    await admin.put(
        f"/api/admin/mentors/{mentor_id}/approve", headers={"X-CSRF-Token": admin_token}
    )
    await register(api, "kiran@example.org", "mentee", "Kiran Rao")
    base = f"http://127.0.0.1:{server.port}"

    mentee = await logged_in_page(browser, base, "kiran@example.org")
    await mentee.goto(f"{base}/mentors/{mentor_id}")
    await mentee.locator(".slot").nth(15).click()  # two minutes ahead: 8-second slots
    await mentee.get_by_label("I accept the cancellation policy").check()
    await mentee.get_by_role("button", name="Book this slot").click()
    await mentee.wait_for_url("**/payments/simulator/*")
    await expect(mentee.get_by_role("note")).to_contain_text("Test payments")
    await mentee.screenshot(path=str(shots / "simulator-phone.png"), full_page=True)
    await mentee.get_by_role("button", name="Pay ₹100.00 (test)").click()
    await mentee.wait_for_url("**/dashboard?paid=*")
    row = mentee.locator("li.booking").first
    await expect(row).to_contain_text("Meera Nair")
    await expect(row.get_by_role("link", name="Join")).to_be_visible()  # early: the waiting room

    mentor = await logged_in_page(browser, base, "meera@example.org")
    await mentor.locator("li.booking").first.get_by_role("link", name="Join").click()
    await row.get_by_role("link", name="Join").click()
    for page in (mentee, mentor):  # the pre-join check: camera, microphone, then join
        await page.get_by_role("button", name="Join call").click()
    for page in (mentee, mentor):
        await page.wait_for_function(
            "() => document.getElementById('remote').videoWidth > 0", timeout=20_000
        )
    for page in (mentee, mentor):
        await expect(page.get_by_role("heading", name="The call has ended")).to_be_visible(
            timeout=20_000
        )
        assert await csp_violations(page) == []  # the call ran under the page's policy

    await mentor.goto(f"{base}/wallet")
    await expect(mentor.locator("#balance")).to_have_text("₹70.00", timeout=10_000)
    await expect(mentor.locator("table.entries")).to_contain_text("Call completed")
    await mentor.screenshot(path=str(shots / "wallet-phone.png"), full_page=True)
    assert await csp_violations(mentor) == []
