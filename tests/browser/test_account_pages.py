"""A person on a phone signs up, logs out, and logs back in with the keyboard alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


async def assert_fits_the_screen(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px on a phone"


async def test_sign_up_log_out_and_log_in_on_a_phone(
    browser: Browser, base_url: str, shots: Path
) -> None:
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = await context.new_page()

    await page.goto(base_url + "/")
    await assert_fits_the_screen(page)
    await page.get_by_role("link", name="Create an account").click()

    await page.get_by_label("Your name").fill("Meera Iyer")
    await page.get_by_label("Email").fill("meera@example.org")
    await page.get_by_label("Password").fill("too short")
    await page.get_by_label("Mentor others").check()
    await page.get_by_role("button", name="Create account").click()
    error = page.locator("#f-password-error")
    await expect(error).to_have_text("Must be at least 10 characters.")
    await expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Email")).to_have_value("meera@example.org")
    await expect(page.get_by_label("Mentor others")).to_be_checked()
    await assert_fits_the_screen(page)
    await page.screenshot(path=str(shots / "register-error-phone.png"), full_page=True)

    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    # A new mentor goes on to the application, then finds the dashboard from the menu.
    await expect(page.get_by_role("heading", name="Become a mentor")).to_be_visible()
    await page.get_by_role("link", name="Dashboard").click()
    await expect(page.get_by_role("heading", name="Hello, Meera Iyer")).to_be_visible()
    await expect(page.get_by_role("heading", name="Calls with your mentees")).to_be_visible()
    await assert_fits_the_screen(page)
    await page.screenshot(path=str(shots / "dashboard-phone.png"), full_page=True)

    await page.get_by_role("button", name="Log out").click()
    await page.get_by_role("link", name="Log in").first.click()
    await page.get_by_label("Email").fill("meera@example.org")
    await page.get_by_label("Password").fill("not my password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")

    # Keyboard only: the fields are reachable in order and Enter submits.
    await page.get_by_label("Email").focus()
    await page.keyboard.press("Control+A")
    await page.keyboard.type("meera@example.org")
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.id")
    assert focused == "f-password"
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Hello, Meera Iyer")).to_be_visible()
    await context.close()
