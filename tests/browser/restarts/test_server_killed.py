"""The server killed mid-call (SIGKILL) and started again: both Chromium pages reconnect by
themselves into the same call, the countdown goes on from the stored end, and the money is
settled once."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.restarts.served import CALL_SECONDS, pages_in_call, seconds_shown, served
from tests.browser.test_call_page import video_flows, wait_for_state

pytestmark = pytest.mark.browser


async def test_a_killed_server_comes_back_into_the_same_call(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    run = await served(tmp_path, aiohttp_server, aiohttp_client)
    async with run.running() as first:
        pages = await pages_in_call(browser, run.base, run.booking_id)
        ends_at = run.row()["call_ends_at"]
        assert ends_at is not None
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

    async with run.running():
        for page in pages:  # each page sees the socket drop and comes back by itself
            await wait_for_state(page, "in_call")
            await video_flows(page)
        assert run.row()["call_ends_at"] == ends_at
        end = datetime.fromisoformat(ends_at).replace(tzinfo=UTC)
        for page in pages:
            shown = seconds_shown(await page.locator("#countdown").inner_text())
            left = (end - datetime.now(UTC)).total_seconds()
            assert abs(shown - left) <= 2, (shown, left)
        await pages[1].screenshot(path=str(shots / "restart-mentee-back-in-call.png"))

        for page in pages:  # the server ends the call at the stored end
            await expect(page.get_by_role("heading", name="The call has ended")).to_be_visible(
                timeout=(CALL_SECONDS + 15) * 1000
            )
        row = run.row()
        assert row["status"] == "completed", row
        assert row["settled"] == 1 and row["ledger_sum"] == 0, row
    assert "Traceback" not in run.log.read_text(errors="replace")
    for page in pages:
        await page.context.close()
