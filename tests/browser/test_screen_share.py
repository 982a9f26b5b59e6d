"""Screen sharing in Chromium: the mentor shares a screen, the mentee sees it at the screen's
resolution, and the camera comes back when sharing stops.

Chromium's fake capture: with the flags every call test already has (tests/browser/conftest.py
CALL_ARGS: --use-fake-ui-for-media-stream and --use-fake-device-for-media-stream), Debian's
headless Chromium answers getDisplayMedia at once with a fake 1920x1080 "screen" at the frame
rate asked for. No --auto-select-desktop-capture-source or tab-capture flag and no
`headless=new` is needed (tried: they change nothing here). The fake camera is 640x480.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import csp_violations, logged_in_page, look
from tests.browser.test_call_page import call_app, in_a_call, join_call, wait_for_state

pytestmark = pytest.mark.browser


async def remote_picture(page: Page) -> dict[str, int]:
    picture: dict[str, int] = await page.evaluate(
        """() => {
            const v = document.getElementById('remote');
            return {width: v.videoWidth, height: v.videoHeight,
                    frames: v.getVideoPlaybackQuality().totalVideoFrames};
        }"""
    )
    return picture


async def wait_for_remote_size(page: Page, wide: bool) -> None:
    """The remote video is the fake screen (16:9, wider than the camera) or the camera (4:3, at
    most its 640x480: the encoder may send it smaller while its bandwidth estimate climbs)."""
    await page.wait_for_function(
        """(wide) => {
            const v = document.getElementById('remote');
            if (!v.videoWidth) return false;
            const ratio = v.videoWidth / v.videoHeight;
            return wide ? v.videoWidth > 640 && Math.abs(ratio - 16 / 9) < 0.05
                        : v.videoWidth <= 640 && Math.abs(ratio - 4 / 3) < 0.05;
        }""",
        arg=wide,
        timeout=15_000,
    )


async def keeps_playing(page: Page) -> None:
    before = await remote_picture(page)
    await page.wait_for_timeout(1500)
    after = await remote_picture(page)
    assert after["frames"] > before["frames"] + 5, (before, after)


async def test_sharing_a_screen_replaces_the_camera_and_switching_back_restores_it(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    app = await call_app(
        aiohttp_server, aiohttp_client, tmp_path, MICROMENTOR_CALLS_DURATION_SECONDS="120"
    )
    booking_id = await app.booking(duration_seconds=120)
    mentor, mentee = await in_a_call(browser, app, booking_id)
    await wait_for_remote_size(mentee, wide=False)
    # The connection-quality indicator, in words, from the page's own statistics.
    await expect(mentee.locator("#quality")).to_have_text(
        re.compile(r"^Connection: (good|fair|poor, video may pause)$"), timeout=10_000
    )
    await expect(mentee.locator("#quality")).to_have_attribute("role", "status")

    # Share: the screen goes out in place of the camera, without a new offer.
    offers = await mentor.evaluate("window.micromentor.pc.localDescription.sdp")
    share = mentor.get_by_role("button", name="Share screen")
    await share.click()
    await expect(mentor.get_by_role("button", name="Stop sharing")).to_be_visible()
    await expect(mentor.get_by_label("Your shared screen")).to_be_visible()
    await expect(mentor.locator("#media-note")).to_have_text("You are sharing your screen.")
    await wait_for_remote_size(mentee, wide=True)
    await keeps_playing(mentee)
    await expect(mentee.locator("#media-note")).to_have_text("Maya Mentor is sharing their screen.")
    assert await mentor.evaluate("window.micromentor.pc.localDescription.sdp") == offers
    settings = await mentor.evaluate(
        """() => {
            const sender = window.micromentor.pc.getSenders()
              .find((s) => s.track && s.track.kind === 'video');
            const p = sender.getParameters();
            return {label: sender.track.label, hint: sender.track.contentHint,
                    maxBitrate: p.encodings[0].maxBitrate,
                    preference: p.degradationPreference || null};
        }"""
    )
    assert settings["label"].startswith("screen"), settings
    assert settings["hint"] == "detail"
    assert settings["maxBitrate"] == 1_500_000
    await look(mentee, shots, "call-screen-shared")

    # Stop sharing: the camera comes back, at the camera's resolution, still playing.
    await mentor.get_by_role("button", name="Stop sharing").click()
    await expect(share).to_be_visible()
    await wait_for_remote_size(mentee, wide=False)
    await keeps_playing(mentee)
    await expect(mentee.locator("#media-note")).to_be_hidden()

    # The browser's own "Stop sharing" ends the screen track: the page goes back by itself.
    await share.click()
    await wait_for_remote_size(mentee, wide=True)
    await mentor.evaluate("window.micromentor.screen.dispatchEvent(new Event('ended'))")
    await expect(share).to_be_visible()
    await wait_for_remote_size(mentee, wide=False)
    for page in (mentor, mentee):
        assert await csp_violations(page) == []


async def test_no_share_button_without_get_display_media(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path
) -> None:
    app = await call_app(aiohttp_server, aiohttp_client, tmp_path)
    booking_id = await app.booking()
    page = await logged_in_page(browser, app.base, "mentee@example.org", then="/dashboard")
    # Most phones' browsers have no getDisplayMedia.
    await page.add_init_script("delete MediaDevices.prototype.getDisplayMedia")
    await page.goto(f"{app.base}/call/{booking_id}")
    await join_call(page)
    await wait_for_state(page, "in_call")
    await expect(page.get_by_role("button", name="Mute")).to_be_visible()
    await expect(page.locator("#share")).to_be_hidden()
