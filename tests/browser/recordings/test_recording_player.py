"""The mentee watches a call's recording on a phone: both videos play under one set of
controls and a seek moves them together; a third user and an anonymous visitor get 404."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from server.app import create_app
from server.calls.service import CALLS
from tests.browser.conftest import PHONE, csp_violations, logged_in_page, look, watched_context
from tests.conftest import FAST_PASSWORDS, make_config
from tests.integration.recordings.support import encode_webm, write_recording
from tests.support.booking import Site
from tests.support.calls import add_booking

pytestmark = pytest.mark.browser

MENTEE_OFFSET = 1.5  # the mentee's camera came 1.5 s after the mentor's


async def times(page: Page) -> list[float]:
    found: list[float] = await page.evaluate(
        "[...document.querySelectorAll('#player video')].map((v) => v.currentTime)"
    )
    return found


async def test_the_mentee_plays_and_seeks_the_recording_on_a_phone(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    config = make_config(tmp_path)
    server = await aiohttp_server(create_app(config, passwords=FAST_PASSWORDS))
    site = Site(server, aiohttp_client)
    _mentor, mentor_id, _token = await site.mentor("meera@example.org")
    api, mentee_id, _token = await site.user("kiran@example.org")
    await site.user("nosy@example.org")
    now = server.app[CALLS].clock()
    booking_id = await add_booking(
        api, mentor_id, mentee_id, starts_at=now - timedelta(hours=2), status="completed"
    )
    write_recording(
        config.recording_dir,
        booking_id,
        started_at=now - timedelta(hours=2),
        stopped_at=now - timedelta(hours=2) + timedelta(seconds=8),
        files={
            "mentor": encode_webm(tmp_path / "a.webm", seconds=8),
            "mentee": encode_webm(tmp_path / "b.webm", seconds=6, frequency=660),
        },
        offsets={"mentor": 0.0, "mentee": MENTEE_OFFSET},
    )
    base = f"http://127.0.0.1:{server.port}"

    page = await logged_in_page(browser, base, "kiran@example.org")
    await page.get_by_role("link", name="Watch the recording").click()
    await page.wait_for_url(f"**/bookings/{booking_id}/recording")
    videos = page.locator("#player video")
    await expect(videos).to_have_count(2)
    await expect(page.get_by_role("link", name="Download Asha Rao's video")).to_have_count(2)
    await expect(page.get_by_label("Position")).to_be_visible()  # the shared controls
    await look(page, shots, "recording-player")

    await page.get_by_role("button", name="Play").click()
    await expect(page.get_by_role("button", name="Pause")).to_be_visible()
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#player video')].every((v) => v.videoWidth > 0)"
    )
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#player video')]"
        ".every((v) => !v.paused && v.currentTime > 0.3)",
        timeout=10_000,
    )
    first = await times(page)
    await page.wait_for_timeout(600)
    second = await times(page)
    assert all(b > a for a, b in zip(first, second, strict=True)), (first, second)
    # In sync: the mentee's video runs MENTEE_OFFSET behind the mentor's.
    assert abs((second[0] - second[1]) - MENTEE_OFFSET) < 0.4, second

    # A seek through the shared slider moves both videos to that point of the call.
    await page.get_by_label("Position").fill("5")
    await page.wait_for_function(
        "() => { const [a, b] = document.querySelectorAll('#player video');"
        " return a.currentTime >= 4.9 && b.currentTime >= 3.4 && b.currentTime < 4.5; }"
    )
    mentor_at, mentee_at = await times(page)
    assert 4.9 <= mentor_at < 6.5 and 3.4 <= mentee_at < 5, (mentor_at, mentee_at)
    assert await csp_violations(page) == []
    await page.context.close()

    # Nobody else learns that a recording exists.
    nosy = await logged_in_page(browser, base, "nosy@example.org")
    for url in (f"/bookings/{booking_id}/recording", f"/recordings/{booking_id}/mentor.webm"):
        response = await nosy.goto(base + url)
        assert response is not None and response.status == 404, url
    await nosy.context.close()
    anonymous = await (await watched_context(browser, viewport=PHONE)).new_page()
    for url in (f"/bookings/{booking_id}/recording", f"/recordings/{booking_id}/mentee.webm"):
        response = await anonymous.goto(base + url)
        assert response is not None and response.status == 404, url
    await anonymous.context.close()
