"""Issue 21's journey on a phone: an administrator sets a sponsor up and records its top-up in
the console; a student confirms their campus address from the account page, favourites a
mentor, finds them under "Favourites only" and books a free call end to end, never seeing a
payment page, then cancels it and is told the free call stays used."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from server.accounts.service import ACCOUNTS
from server.app import create_app
from server.payments.money import MONEY
from tests.browser.conftest import csp_violations, logged_in_page, look
from tests.conftest import FAST_PASSWORDS, PASSWORD, login, make_config, register
from tests.integration.credits.conftest import CreditSite
from tests.support.booking import ALL_WEEK, PROFILE

pytestmark = pytest.mark.browser


async def approved_mentor(api: Any, admin: Any, admin_token: str, email: str, name: str) -> int:
    mentor_id: int = (await register(api, email, "mentor", name))["user"]["id"]
    headers = {"X-CSRF-Token": await login(api, email)}
    assert (await api.post("/api/mentors/apply", json=PROFILE, headers=headers)).status == 201
    assert (await api.put("/api/mentors/availability", json=ALL_WEEK, headers=headers)).ok
    approved = await admin.put(
        f"/api/admin/mentors/{mentor_id}/approve", headers={"X-CSRF-Token": admin_token}
    )
    assert approved.status == 200
    return mentor_id


async def test_favourite_a_mentor_and_book_a_free_call_without_paying(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    config = make_config(tmp_path, MICROMENTOR_ACCOUNTS_CAMPUS_DOMAINS="campus.edu")
    server = await aiohttp_server(create_app(config, passwords=FAST_PASSWORDS))
    site = CreditSite(server, aiohttp_client)
    await server.app[ACCOUNTS].make_admin("root@example.org", PASSWORD, "Root")
    admin = await aiohttp_client(server)
    admin_token = await login(admin, "root@example.org")
    site._admin = (admin, admin_token)
    await approved_mentor(await aiohttp_client(server), admin, admin_token, "m@x.org", "Meera Nair")
    await approved_mentor(await aiohttp_client(server), admin, admin_token, "r@x.org", "Ravi Shah")
    await register(await aiohttp_client(server), "kiran@example.org", "mentee", "Kiran Rao")
    base = f"http://127.0.0.1:{server.port}"

    # The administrator sets the institution up from the console and records its transfer.
    console = await logged_in_page(browser, base, "root@example.org", then="/admin")
    await console.get_by_role("link", name="Sponsors").first.click()
    await console.get_by_label("Institution").fill("Campus Institute")
    await console.get_by_role("button", name="Set up the sponsor").click()
    await expect(console.get_by_role("status")).to_contain_text("The sponsor is set up")
    await console.get_by_role("link", name="Campus Institute").click()
    await console.get_by_label("Amount in rupees").fill("1,000")
    await console.get_by_label("Transfer reference").fill("NEFT 42")
    await console.get_by_role("button", name="Record the top-up").click()
    await expect(console.get_by_role("status")).to_contain_text("The top-up is recorded")
    await expect(console.get_by_text("Wallet ₹1,000.00")).to_be_visible()
    await look(console, shots, "admin-sponsor")
    sponsor_id = int(console.url.split("/admin/sponsors/")[1].split("?")[0])

    page = await logged_in_page(browser, base, "kiran@example.org", then="/account")
    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url))
    campus = page.get_by_role("region", name="Campus address")
    await campus.get_by_label("Campus email address").fill("kiran@cs.campus.edu")
    await campus.get_by_role("button", name="Send me a confirmation link").click()
    await expect(page.get_by_role("status")).to_contain_text("confirmation link is on its way")
    await page.goto(f"{base}/campus/confirm?token={await site.link_token('kiran@cs.campus.edu')}")
    await expect(page.get_by_role("heading", name="Campus address confirmed")).to_be_visible()

    await page.get_by_role("link", name="Find a mentor").click()
    await page.get_by_role("button", name="Favourite Meera Nair", exact=True).click()
    await expect(
        page.get_by_role("button", name="Favourite Meera Nair", exact=True)
    ).to_have_attribute("aria-pressed", "true")
    await page.get_by_label("Favourites only").check()
    await page.get_by_role("button", name="Show mentors").click()
    await page.wait_for_url("**/mentors?*favourites=1*")
    await expect(page.locator(".mentor-card")).to_have_count(1)
    await expect(page.locator(".mentor-card")).to_contain_text("Meera Nair")
    await expect(page.locator(".mentor-card")).not_to_contain_text("Ravi Shah")

    await page.get_by_role("link", name="View and book").click()
    await page.locator(".slot").first.click()
    form = page.get_by_role("region", name="Book a call")
    await form.get_by_label("Topic", exact=True).select_option("Mock Interview")
    await form.get_by_label("I accept the cancellation policy").check()
    free = form.get_by_label(re.compile(r"Use a free call from Campus Institute"))
    await expect(free).to_be_checked()  # offered before the card
    await expect(free).to_have_accessible_name(
        "Use a free call from Campus Institute (2 of 2 free calls left this week)"
    )
    await look(page, shots, "free-call-offered")
    await form.get_by_role("button", name="Book this slot").click()
    await page.wait_for_url("**/dashboard?paid=*")
    await expect(page.get_by_role("status").first).to_contain_text(
        "Booked with a free call from your institution"
    )
    await expect(page.locator("li.booking").first).to_contain_text("Meera Nair")
    await expect(page.get_by_text("Free calls from Campus Institute: 1 of 2")).to_be_visible()
    assert not [url for url in visited if "/payments/" in url or url.endswith("/pay")], visited

    # Cancelling this close to the call: the page says the free call stays used, first.
    await page.locator("li.booking").first.get_by_role("link", name="Cancel").click()
    await expect(page.get_by_role("note", name="Refund")).to_contain_text(
        "Your free call stays used"
    )
    await page.get_by_label("Why are you cancelling?").fill("Clash with a lab")
    await page.get_by_role("button", name="Cancel the call").click()
    await page.wait_for_url("**/dashboard?cancelled=*")
    await expect(page.get_by_role("status").first).to_contain_text("the free call stays used")

    await page.goto(f"{base}/account")
    await expect(page.get_by_role("region", name="Campus address")).to_contain_text(
        "1 of 2 free calls left this week"
    )
    assert (
        await server.app[MONEY].balance(f"sponsor:{sponsor_id}") == 100_000 - PROFILE["price_paise"]
    )
    assert await csp_violations(page) == []
