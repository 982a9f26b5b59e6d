"""Every page loads with the security headers and reports no Content-Security-Policy violation
(issue 13, item 8); the call under the policy is in test_paid_call.py. Every page also fits a
375 px screen without sideways scrolling and has no serious or critical axe-core violation, with
a screenshot at both widths (issue 15)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from server.accounts.service import ACCOUNTS
from server.app import create_app
from tests.browser.conftest import PHONE, csp_violations, logged_in_page, look, watched_context
from tests.conftest import FAST_PASSWORDS, PASSWORD, login, make_config, register
from tests.support.booking import ALL_WEEK, PROFILE

pytestmark = pytest.mark.browser

PUBLIC = ["/", "/register", "/login", "/mentors"]
LOGGED_IN = [
    "/dashboard",
    "/account",
    "/become-a-mentor",
    "/wallet",
    "/payouts",
    "/admin/mentors",
    "/admin/payouts",
    "/notifications",
    "/conversations",
    "/admin/outbox",
    "/admin",
    "/admin/users",
    "/admin/bookings",
    "/admin/audit",
    "/admin/disputes",
    "/admin/reviews",
    "/no-such-page",
]
# Pages looked at side by side: most of a visit is waiting for the network to go quiet.
LANES = 4


async def test_every_page_has_the_headers_and_no_violation(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    server = await aiohttp_server(create_app(make_config(tmp_path), passwords=FAST_PASSWORDS))
    api = await aiohttp_client(server)
    mentor_id = (await register(api, "meera@example.org", "both", "Meera Nair"))["user"]["id"]
    headers = {"X-CSRF-Token": await login(api, "meera@example.org")}
    await api.post("/api/mentors/apply", json=PROFILE, headers=headers)
    await api.put("/api/mentors/availability", json=ALL_WEEK, headers=headers)
    await server.app[ACCOUNTS].make_admin("meera@example.org", PASSWORD, None)
    base = f"http://127.0.0.1:{server.port}"

    member = await logged_in_page(browser, base, "meera@example.org")
    contexts: dict[str, BrowserContext] = {
        "visitor": await watched_context(browser, viewport=PHONE),
        "member": member.context,
    }
    visits = [("visitor", path) for path in PUBLIC] + [
        ("member", path) for path in [*PUBLIC, *LOGGED_IN, f"/mentors/{mentor_id}"]
    ]

    async def lane() -> None:
        pages: dict[str, Page] = {}
        while visits:
            who, path = visits.pop(0)
            if who not in pages:
                pages[who] = await contexts[who].new_page()
            await visit(pages[who], who, path)

    async def visit(page: Page, who: str, path: str) -> None:
        response = await page.goto(f"{base}{path}")
        assert response is not None
        sent = await response.all_headers()
        assert "script-src 'self'" in sent["content-security-policy"], path
        assert "frame-ancestors 'none'" in sent["content-security-policy"], path
        assert sent["x-content-type-options"] == "nosniff", path
        assert sent["x-frame-options"] == "DENY", path
        assert sent["referrer-policy"] == "same-origin", path
        await page.wait_for_load_state("networkidle")
        assert await csp_violations(page) == [], path
        assert await page.locator("h1").first.is_visible(), path
        await look(page, shots, f"page-{who}{path.replace('/', '-').rstrip('-') or '-home'}")

    async with asyncio.TaskGroup() as lanes:
        for _ in range(LANES):
            lanes.create_task(lane())
