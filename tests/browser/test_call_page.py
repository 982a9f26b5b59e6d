"""Two Chromium pages, mentor and mentee, meet through the SFU; the server ends the call."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from server.app import create_app
from server.calls.service import CALLS
from server.db.models import Booking
from tests.browser.conftest import logged_in_page
from tests.conftest import FAST_PASSWORDS, make_config, register
from tests.support.calls import add_booking
from tests.support.media import wait_for

pytestmark = pytest.mark.browser


async def remote_video(page: Page) -> dict[str, int]:
    result: dict[str, int] = await page.evaluate(
        """() => {
            const v = document.getElementById('remote');
            const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
            return {width: v.videoWidth, frames: q ? q.totalVideoFrames : 0};
        }"""
    )
    return result


async def test_mentor_and_mentee_see_each_other_until_the_server_ends_the_call(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    config = make_config(
        tmp_path,
        MICROMENTOR_MEDIA_ICE_ADDRESSES="127.0.0.1",
        # Long enough that a slow start on a loaded machine still sees video flowing.
        MICROMENTOR_CALLS_DURATION_SECONDS="20",
        MICROMENTOR_CALLS_WARNING_SECONDS="4",
        MICROMENTOR_CALLS_MIN_COMPLETED_SECONDS="3",
    )
    server = await aiohttp_server(create_app(config, passwords=FAST_PASSWORDS))
    api = await aiohttp_client(server)
    mentor_id = (await register(api, "mentor@example.org", "mentor", "Maya Mentor"))["user"]["id"]
    mentee_id = (await register(api, "mentee@example.org", "mentee", "Kiran Mentee"))["user"]["id"]
    booking_id = await add_booking(api, mentor_id, mentee_id, duration_seconds=20)
    base = f"http://127.0.0.1:{server.port}"

    mentor = await logged_in_page(browser, base, "mentor@example.org", then=f"/call/{booking_id}")
    await expect(mentor.locator("#status")).to_have_text("Waiting for the mentee to join…")
    mentee = await logged_in_page(browser, base, "mentee@example.org", then=f"/call/{booking_id}")

    for page in (mentor, mentee):
        await page.wait_for_function(
            "() => document.getElementById('remote').videoWidth > 0", timeout=20_000
        )
        await expect(page.locator("#status")).to_have_text("In call")
        await expect(page.locator("#remote-placeholder")).to_be_hidden()
    first = [await remote_video(p) for p in (mentor, mentee)]
    await mentor.wait_for_timeout(1500)
    second = [await remote_video(p) for p in (mentor, mentee)]
    for before, after in zip(first, second, strict=True):
        assert after["width"] > 0
        assert after["frames"] > before["frames"] + 10, (before, after)
    await expect(mentee.locator("#countdown")).to_have_text(re.compile(r"^00:(0\d|1\d|20)$"))
    await mentee.screenshot(path=str(shots / "call-phone.png"))

    await mentee.get_by_label("Message").fill("Thanks, this helps!")
    await mentee.get_by_role("button", name="Send").click()
    await expect(mentor.locator("#chat-lines")).to_contain_text("Kiran Mentee Thanks, this helps!")

    await expect(mentor.locator("#warning")).to_be_visible(timeout=25_000)
    for page in (mentor, mentee):
        await expect(page.get_by_role("heading", name="The call has ended")).to_be_visible(
            timeout=25_000
        )
        await expect(page.locator("#ended-reason")).to_have_text("Time is up. Thank you both!")
    await mentor.screenshot(path=str(shots / "call-ended-phone.png"))

    calls = api.app[CALLS]
    await wait_for(lambda: calls.rooms.get(str(booking_id)) is None, what="the room to close")
    async with calls.db.read() as s:
        booking = await s.get(Booking, booking_id)
    assert booking is not None
    assert (booking.status, booking.end_reason) == ("completed", "time_up")
