"""Debian's Chromium driven by Playwright (never a downloaded browser), against the real app."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from server.app import create_app
from server.calls.service import CALLS
from server.config import Config
from server.db.models import Booking
from tests.conftest import FAST_PASSWORDS, PASSWORD
from tests.support.clock import SkipClock

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Root on a closed network: no sandbox, and none of Chromium's calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    "--disable-quic",
]
# For calls: a fake camera and microphone, no permission prompt, loopback ICE candidates.
CALL_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed: run `make test`, which installs it")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS + CALL_ARGS
        )
        yield browser
        await browser.close()


@pytest.fixture
async def base_url(aiohttp_server: Any, config: Config) -> str:
    server = await aiohttp_server(create_app(config, passwords=FAST_PASSWORDS))
    return f"http://127.0.0.1:{server.port}"


async def skip_until_the_call_ends_in(
    app: web.Application, clock: SkipClock, booking_id: int, seconds: float
) -> None:
    """Moves the server's clock on (a SkipClock given to create_app) until the started call
    `booking_id` ends `seconds` from now: the server's own timer still warns and ends it."""
    deadline = time.monotonic() + 15
    while True:
        async with app[CALLS].db.read() as s:
            booking = await s.get(Booking, booking_id)
        if booking is not None and booking.call_ends_at is not None:
            break
        assert time.monotonic() < deadline, "the call never started"
        await asyncio.sleep(0.05)
    clock.skip(max(0.0, (booking.call_ends_at - clock.now()).total_seconds() - seconds))


@pytest.fixture
def shots() -> Path:
    """Where screenshots go, for a person to look at what a page showed."""
    path = Path(os.environ.get("SCREENSHOTS_DIR", "/tmp/micromentor-shots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


PHONE = {"width": 390, "height": 844}
# Records every Content-Security-Policy violation a page reports, from its first script on.
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


async def watched_context(browser: Browser, **options: Any) -> BrowserContext:
    """A browser context whose pages record CSP violations (see csp_violations)."""
    context = await browser.new_context(**options)
    await context.add_init_script(WATCH_CSP)
    return context


async def csp_violations(page: Page) -> list[str]:
    found: list[str] = await page.evaluate("window.__csp || []")
    return found


async def logged_in_page(
    browser: Browser,
    base: str,
    email: str,
    *,
    then: str = "/dashboard",
    timezone_id: str | None = None,
) -> Page:
    """A new browser context (its own cookies) on a phone-sized screen, logged in through the
    login form, on the page `then`."""
    context = await watched_context(browser, viewport=PHONE, timezone_id=timezone_id)
    page = await context.new_page()
    await page.goto(f"{base}/login?next={then}")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"**{then}")
    return page


# axe-core 4.14.1 (MPL-2.0, vendor/axe-core-LICENSE), from the npm registry, kept in the tree:
# the tests never fetch anything. Evaluated through the DevTools protocol, so the pages' CSP
# (scripts only from /static) stays as it is.
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
PHONE_NARROW = {"width": 375, "height": 812}
LAPTOP = {"width": 1280, "height": 800}


async def accessibility_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE)
    found: list[str] = await page.evaluate(
        """async () => {
          const result = await axe.run(document, { resultTypes: ["violations"] });
          return result.violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => `${v.id} (${v.impact}): `
              + v.nodes.map((n) => n.target.join(" ")).join(", "));
        }"""
    )
    return found


async def horizontal_overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0 when nothing scrolls sideways)."""
    width: int = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width


async def look(page: Page, shots: Path, name: str) -> None:
    """Looks at the page as a reviewer would at 375 px and at 1280 px: a screenshot of each,
    no sideways scrolling on the phone, no serious or critical accessibility violation."""
    size = page.viewport_size
    for label, viewport in (("phone", PHONE_NARROW), ("laptop", LAPTOP)):
        await page.set_viewport_size(viewport)
        await page.screenshot(path=str(shots / f"{name}-{label}.png"), full_page=True)
        if label == "phone":
            assert await horizontal_overflow(page) <= 0, f"{name}: scrolls sideways at 375 px"
    assert await accessibility_problems(page) == [], name
    if size is not None:
        await page.set_viewport_size(size)
