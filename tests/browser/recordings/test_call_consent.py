"""Recording with consent, on the call page in Chromium: the mentee's booking asked for it, the
mentor offers it, nothing is written until the mentee agrees too, both pages show "Recording"
while it runs, and either side's "Stop recording" ends it for good."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import update

from server.calls.service import CALLS
from server.config import CONFIG
from server.db.models import Booking
from tests.browser.conftest import csp_violations, look
from tests.browser.test_call_page import call_app, in_a_call
from tests.support.media import wait_for

pytestmark = pytest.mark.browser


async def test_both_agree_both_see_it_and_either_stops_it(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    app = await call_app(
        aiohttp_server, aiohttp_client, tmp_path, MICROMENTOR_CALLS_DURATION_SECONDS="120"
    )
    booking_id = await app.booking(duration_seconds=120)
    calls = app.api.app[CALLS]
    async with calls.db.write() as s:  # the mentee asked for a recording when booking
        await s.execute(update(Booking).where(Booking.id == booking_id).values(record=True))
    folder = app.api.app[CONFIG].recording_dir / str(booking_id)

    mentor, mentee = await in_a_call(browser, app, booking_id)

    await expect(mentor.locator("#recording-text")).to_have_text(
        "You can record this call. Recording starts only when Kiran Mentee agrees too."
    )
    await mentor.get_by_role("button", name="Record this call").click()
    await expect(mentor.locator("#recording-text")).to_have_text(
        "Waiting for Kiran Mentee to agree to recording."
    )
    await expect(mentee.locator("#recording-text")).to_have_text(
        "Maya Mentor asked to record this call. Nothing is recorded unless you agree too."
    )
    assert not folder.exists()  # one consent writes nothing

    await mentee.get_by_role("button", name="Record this call").click()
    for page in (mentor, mentee):
        await expect(page.locator("#recording-on")).to_have_text("● Recording")
        await expect(page.get_by_role("button", name="Stop recording")).to_be_visible()
    await look(mentee, shots, "call-recording")
    await wait_for(lambda: (folder / "mentee.webm").exists(), what="the mentee's file")

    await mentee.get_by_role("button", name="Stop recording").click()
    for page in (mentor, mentee):
        await expect(page.locator("#recording-on")).to_be_hidden()
        await expect(page.get_by_role("button", name="Record this call")).to_be_hidden()
        assert await csp_violations(page) == []
    manifest = (folder / "recording.json").read_text()
    assert '"stopped_at": "' in manifest
