"""The README's first promise: `demo-call` prints two links that meet in one browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from server.accounts.service import ACCOUNTS
from server.app import create_app
from server.calls.demo import DEMO_KEY, create_demo_call
from tests.conftest import FAST_PASSWORDS, make_config
from tests.support.net import free_port

pytestmark = pytest.mark.browser


async def test_the_two_demo_links_meet_in_one_browser(
    browser: Browser, aiohttp_server: Any, tmp_path: Path, shots: Path
) -> None:
    port = free_port()
    config = make_config(
        tmp_path, MICROMENTOR_SERVER_PORT=str(port), MICROMENTOR_MEDIA_ICE_ADDRESSES="127.0.0.1"
    )
    app = create_app(config, passwords=FAST_PASSWORDS)
    await aiohttp_server(app, port=port)
    demo = await create_demo_call(app[ACCOUNTS], config, app[DEMO_KEY])
    assert demo.urls["mentor"].startswith(f"http://127.0.0.1:{port}/demo-login?token=")
    assert demo.urls["mentee"].startswith(f"http://localhost:{port}/demo-login?token=")

    context = await browser.new_context()  # one browser profile, two tabs
    tabs = []
    for role in ("mentor", "mentee"):
        tab = await context.new_page()
        await tab.goto(demo.urls[role])
        await tab.wait_for_url(f"**/call/{demo.booking_id}")
        tabs.append(tab)
    for tab in tabs:
        await tab.wait_for_function(
            "() => document.getElementById('remote').videoWidth > 0", timeout=20_000
        )
    await tabs[1].screenshot(path=str(shots / "demo-call-mentee.png"))
    await context.close()
