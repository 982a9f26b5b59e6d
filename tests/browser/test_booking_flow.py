"""A mentee finds a mentor by skill on a phone, books, and both see the call on their dashboards."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from server.accounts.service import ACCOUNTS
from server.app import create_app
from tests.browser.conftest import logged_in_page
from tests.conftest import FAST_PASSWORDS, PASSWORD, login, make_config, register

pytestmark = pytest.mark.browser


async def test_a_mentee_finds_books_and_both_see_the_call(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    server = await aiohttp_server(create_app(make_config(tmp_path), passwords=FAST_PASSWORDS))
    api = await aiohttp_client(server)
    mentor_id = (await register(api, "meera@example.org", "mentor", "Meera Nair"))["user"]["id"]
    token = await login(api, "meera@example.org")
    headers = {"X-CSRF-Token": token}
    await api.post(
        "/api/mentors/apply",
        headers=headers,
        json={
            "headline": "Staff engineer",
            "bio": "Ten years of distributed systems.",
            "skills": ["System Design", "Go"],
            "institution": "NIT Trichy",
            "languages": ["English"],
        },
    )
    await api.put(
        "/api/mentors/availability",
        headers=headers,
        json={
            "timezone": "UTC",
            "weekly": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)],
        },
    )
    await register(api, "other@example.org", "mentor", "Other Mentor")
    await server.app[ACCOUNTS].make_admin("root@example.org", PASSWORD, "Root")
    admin = await aiohttp_client(server)
    admin_token = await login(admin, "root@example.org")
    approved = await admin.put(
        f"/api/admin/mentors/{mentor_id}/approve", headers={"X-CSRF-Token": admin_token}
    )
    assert approved.status == 200
    await register(api, "kiran@example.org", "mentee", "Kiran Rao")
    base = f"http://127.0.0.1:{server.port}"

    mentee = await logged_in_page(browser, base, "kiran@example.org", timezone_id="Asia/Kolkata")
    await mentee.get_by_role("link", name="Mentors", exact=True).click()
    await mentee.screenshot(path=str(shots / "mentors-phone.png"), full_page=True)
    await mentee.get_by_label("Skill").select_option("System Design")
    await mentee.get_by_role("button", name="Show mentors").click()
    await expect(mentee.get_by_role("heading", name="Meera Nair")).to_be_visible()
    await mentee.get_by_role("link", name="View and book").click()
    await expect(mentee.get_by_role("heading", name="Meera Nair")).to_be_visible()
    first_slot = mentee.locator(".slot").first
    await expect(first_slot).to_be_visible()
    await first_slot.click()
    await expect(mentee.locator("#chosen")).to_contain_text("Chosen:")
    await mentee.screenshot(path=str(shots / "mentor-profile-phone.png"), full_page=True)
    booking = mentee.get_by_role("region", name="Book a call")
    await booking.get_by_label("Topic", exact=True).select_option("System Design")
    await mentee.get_by_label("What do you want to talk about?").fill("Design a rate limiter")
    await mentee.get_by_role("button", name="Book this slot").click()
    await expect(mentee.locator("#book .error[data-for=accept_policy]")).to_be_visible()
    await mentee.get_by_label("I accept the cancellation policy").check()
    await mentee.get_by_role("button", name="Book this slot").click()
    await mentee.wait_for_url("**/payments/simulator/*")  # checkout opens; pay later instead
    await mentee.get_by_role("link", name="Not now").click()
    await mentee.wait_for_url("**/dashboard")

    row = mentee.locator("li.booking").first
    await expect(row).to_contain_text("Meera Nair")
    await expect(row).to_contain_text("Awaiting payment")
    await expect(row).to_contain_text("Starts in")
    countdown = row.locator(".warn [data-countdown]")
    first = await countdown.inner_text()
    assert re.match(r"^in \d\d:\d\d$", first), first
    await mentee.wait_for_timeout(1200)
    assert await countdown.inner_text() != first  # it counts down
    overflow = await mentee.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    wide = await mentee.evaluate("""[...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 30))""")
    assert overflow <= 0, wide
    await mentee.screenshot(path=str(shots / "dashboard-booked-phone.png"), full_page=True)

    mentor = await logged_in_page(browser, base, "meera@example.org")
    await expect(mentor.get_by_role("heading", name="Calls with your mentees")).to_be_visible()
    await expect(mentor.locator("li.booking").first).to_contain_text("Kiran Rao")
