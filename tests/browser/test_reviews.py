"""A mentee rates a completed call with the keyboard on a phone, and the review shows on the
mentor's page with the stats bar; reported there, an administrator hides it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from server.accounts.service import ACCOUNTS
from server.app import create_app
from server.calls.service import CALLS
from tests.browser.conftest import csp_violations, logged_in_page, look
from tests.conftest import FAST_PASSWORDS, make_config
from tests.integration.reviews.support import hold_the_call
from tests.support.booking import Site
from tests.support.calls import add_booking

pytestmark = pytest.mark.browser


async def test_a_mentee_rates_a_call_by_keyboard_and_the_review_shows(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    server = await aiohttp_server(create_app(make_config(tmp_path), passwords=FAST_PASSWORDS))
    site = Site(server, aiohttp_client)
    _mentor, mentor_id, _token = await site.mentor("meera@example.org")
    api, mentee_id, _token = await site.user("kiran@example.org")
    calls = server.app[CALLS]
    booking_id = await add_booking(
        api, mentor_id, mentee_id, starts_at=calls.clock() - timedelta(hours=2)
    )
    await hold_the_call(server.app, booking_id)
    assert await calls.finish_overdue() == 1  # the sweeper ends it: completed
    base = f"http://127.0.0.1:{server.port}"

    page = await logged_in_page(browser, base, "kiran@example.org")
    await page.get_by_role("link", name="Rate this call").click()
    await page.wait_for_url(f"**/bookings/{booking_id}/review")
    await look(page, shots, "review-form")

    # Keyboard only: onto the first star, Space picks it, arrows move to 4 stars.
    await page.get_by_role("radio", name="1 star", exact=True).focus()
    await page.keyboard.press("Space")
    for _ in range(3):
        await page.keyboard.press("ArrowRight")
    await expect(page.get_by_role("radio", name="4 stars")).to_be_checked()
    await page.keyboard.press("Tab")
    text = "Clear answers on system design. <b>Thanks</b>!"
    await page.keyboard.type(text)
    await expect(page.locator("#f-text-count")).to_have_text(f"{len(text)} of 1,000 characters")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/review?saved=1")
    await expect(page.get_by_role("status")).to_contain_text("Thank you!")

    await page.get_by_role("link", name="Asha Rao's page").click()
    await page.wait_for_url(f"**/mentors/{mentor_id}#review-*")
    review = page.locator(".review").first
    await expect(review).to_contain_text(text)  # the markup stays text
    await expect(review.locator("b")).to_have_count(0)
    await expect(review.get_by_role("img", name="4 out of 5 stars")).to_be_visible()
    await expect(page.locator(".stats-bar")).to_contain_text("★ 4.0")
    await expect(page.locator(".stats-bar")).to_contain_text("Calls completed1")
    await look(page, shots, "mentor-reviews")

    # Reported from the page (no script needed), then hidden by an administrator.
    await review.get_by_text("Report", exact=True).click()
    await review.get_by_label("What is wrong with this review?").fill("Testing the queue")
    await review.get_by_role("button", name="Report it to the moderators").click()
    await expect(page.locator("#reviews [role=status]")).to_contain_text("a moderator will look")
    await server.app[ACCOUNTS].make_admin("kiran@example.org", None, None)
    await page.goto(f"{base}/admin/reviews")
    await expect(page.locator(".moderation-case")).to_contain_text("Testing the queue")
    await look(page, shots, "admin-reviews")
    await page.get_by_role("button", name="Hide the review").click()
    await expect(page.get_by_text("The review is hidden")).to_be_visible()
    await page.goto(f"{base}/mentors/{mentor_id}")
    await expect(page.locator(".review")).to_have_count(0)
    assert await csp_violations(page) == []
