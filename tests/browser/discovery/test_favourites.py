"""On a phone, by keyboard: a mentee favourites a mentor from the list (the button keeps its
name and says pressed), ticks "Favourites only" and sees only that mentor, then states their
interests on the dashboard and gets "Mentors for you", each with its reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from server.app import create_app
from tests.browser.conftest import csp_violations, logged_in_page, look
from tests.conftest import FAST_PASSWORDS, make_config
from tests.integration.discovery.support import add_catalogue
from tests.support.booking import Site

pytestmark = pytest.mark.browser


async def test_favourite_filter_and_mentors_for_you_by_keyboard(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    server = await aiohttp_server(create_app(make_config(tmp_path), passwords=FAST_PASSWORDS))
    _api, asha_id, _token = await Site(server, aiohttp_client).user("asha@example.org")
    await add_catalogue(server.app, asha_id)
    base = f"http://127.0.0.1:{server.port}"

    page = await logged_in_page(browser, base, "asha@example.org", then="/mentors")
    kavya = page.locator(".mentor-card", has_text="Kavya Nair")
    button = page.get_by_role("button", name="Favourite Kavya Nair", exact=True)
    await expect(button).to_have_attribute("aria-pressed", "false")
    await kavya.get_by_role("link", name="View and book").focus()
    await page.keyboard.press("Tab")
    await expect(button).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(button).to_have_attribute("aria-pressed", "true")  # same name, now pressed
    await expect(button).to_be_focused()
    await expect(kavya.locator("[data-star]")).to_have_text("★")

    await page.get_by_label("Favourites only").focus()
    await page.keyboard.press("Space")
    await expect(page.get_by_label("Favourites only")).to_be_checked()
    await page.get_by_role("button", name="Show mentors").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/mentors?*favourites=1*")
    await expect(page.locator(".mentor-card")).to_have_count(1)
    await expect(page.locator(".mentor-card")).to_contain_text("Kavya Nair")
    await expect(button).to_have_attribute("aria-pressed", "true")
    await look(page, shots, "favourites-only")

    await page.goto(f"{base}/dashboard")
    for_you = page.locator("#for-you")
    await expect(for_you.get_by_role("heading", name="Mentors for you")).to_be_visible()
    await for_you.get_by_label("Your interests").focus()
    await page.keyboard.type("python, interviews")
    await page.keyboard.press("Tab")
    await expect(for_you.get_by_role("button", name="Save interests")).to_be_focused()
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/dashboard?interests=saved#for-you")
    await expect(for_you.get_by_role("status")).to_contain_text("Your interests are saved")
    first = for_you.locator("li").first
    await expect(first).to_contain_text("Meera Iyer")
    # Kavya, a favourite, is left out, but her Interviews count too: interviews weigh most.
    await expect(first).to_contain_text("Shares: interviews, Python")
    await expect(for_you).not_to_contain_text("Kavya Nair")
    await look(page, shots, "mentors-for-you")
    assert await csp_violations(page) == []
