"""The call page as people see it in Chromium: the waiting room before the call opens, the
pre-join check, two sides meeting through the SFU, leaving (with a confirm dialog) and
rejoining, and the server ending the call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from server.app import create_app
from server.calls.service import CALLS
from server.db.models import Booking
from tests.browser.conftest import csp_violations, logged_in_page, skip_until_the_call_ends_in
from tests.conftest import FAST_PASSWORDS, make_config, register
from tests.support.calls import add_booking
from tests.support.clock import SkipClock
from tests.support.media import wait_for

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 375, "height": 812}


async def remote_video(page: Page) -> dict[str, int]:
    result: dict[str, int] = await page.evaluate(
        """() => {
            const v = document.getElementById('remote');
            const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
            return {width: v.videoWidth, frames: q ? q.totalVideoFrames : 0};
        }"""
    )
    return result


async def state(page: Page) -> str:
    value: str = await page.evaluate("window.micromentor.state")
    return value


async def wait_for_state(page: Page, wanted: str) -> None:
    try:
        await page.wait_for_function(
            "(wanted) => window.micromentor && window.micromentor.state === wanted",
            arg=wanted,
            timeout=20_000,
        )
    except PlaywrightTimeout:
        shown = await page.evaluate(
            "[window.micromentor.state, window.micromentor.peer, "
            "document.getElementById('status').textContent]"
        )
        raise AssertionError(f"not {wanted!r} after 20 s: {shown}") from None


async def video_flows(page: Page) -> None:
    """The other side's video is on screen and its frames advance."""
    try:
        await page.wait_for_function(
            "() => document.getElementById('remote').videoWidth > 0", timeout=40_000
        )
    except PlaywrightTimeout:
        shown = await page.evaluate(
            "[window.micromentor.state, window.micromentor.peer, "
            "window.micromentor.pc && window.micromentor.pc.connectionState]"
        )
        raise AssertionError(f"no video from the other side after 40 s: {shown}") from None
    await expect(page.get_by_label(re.compile("'s video$"))).to_be_visible(timeout=10_000)
    before = await remote_video(page)
    await page.wait_for_timeout(1000)
    after = await remote_video(page)
    assert after["frames"] > before["frames"] + 5, (before, after)


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    viewport = await page.evaluate("window.innerWidth")
    assert width <= viewport, f"the page scrolls sideways: {width} > {viewport}"


@dataclass
class App:
    api: Any  # a logged-out test client of the served app
    base: str
    mentor_id: int
    mentee_id: int

    async def booking(self, **fields: Any) -> int:
        return await add_booking(self.api, self.mentor_id, self.mentee_id, **fields)


async def call_app(
    aiohttp_server: Any,
    aiohttp_client: Any,
    tmp_path: Path,
    clock: SkipClock | None = None,
    **env: str,
) -> App:
    """The app with a mentor, Maya Mentor, and a mentee, Kiran Mentee; on `clock` if given."""
    config = make_config(tmp_path, MICROMENTOR_MEDIA_ICE_ADDRESSES="127.0.0.1", **env)
    timing: dict[str, Any] = {"clock": clock.now, "sleep": clock.sleep} if clock else {}
    server = await aiohttp_server(create_app(config, passwords=FAST_PASSWORDS, **timing))
    api = await aiohttp_client(server)
    mentor = await register(api, "mentor@example.org", "mentor", "Maya Mentor")
    mentee = await register(api, "mentee@example.org", "mentee", "Kiran Mentee")
    return App(api, f"http://127.0.0.1:{server.port}", mentor["user"]["id"], mentee["user"]["id"])


async def join_call(page: Page) -> None:
    await expect(
        page.get_by_role("heading", name="Check your camera and microphone")
    ).to_be_visible()
    join = page.get_by_role("button", name="Join call")
    await expect(join).to_be_enabled(timeout=10_000)
    await join.click()


async def in_a_call(browser: Browser, app: App, booking_id: int) -> tuple[Page, Page]:
    """The mentor's and the mentee's pages, both joined and seeing each other's video."""
    url = f"/call/{booking_id}"
    mentor = await logged_in_page(browser, app.base, "mentor@example.org", then=url)
    mentee = await logged_in_page(browser, app.base, "mentee@example.org", then=url)
    await join_call(mentor)
    await join_call(mentee)
    for page in (mentor, mentee):
        await wait_for_state(page, "in_call")
        await video_flows(page)
    return mentor, mentee


async def test_mentor_and_mentee_see_each_other_until_the_server_ends_the_call(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    clock = SkipClock()
    app = await call_app(
        aiohttp_server,
        aiohttp_client,
        tmp_path,
        clock,
        # Long enough that a slow start still sees video flowing before the end: on a fresh CI
        # clone the first call's video has taken over 20 s to appear (locally about 1.5 s). The
        # test does not wait out the rest: once it has seen the call, the clock skips ahead.
        MICROMENTOR_CALLS_DURATION_SECONDS="60",
        MICROMENTOR_CALLS_WARNING_SECONDS="4",
        MICROMENTOR_CALLS_MIN_COMPLETED_SECONDS="3",
    )
    booking_id = await app.booking(duration_seconds=60)

    mentor = await logged_in_page(
        browser, app.base, "mentor@example.org", then=f"/call/{booking_id}"
    )
    await expect(mentor.locator("#status")).to_have_text("Waiting for the mentee to join…")
    await join_call(mentor)
    mentee = await logged_in_page(
        browser, app.base, "mentee@example.org", then=f"/call/{booking_id}"
    )
    await expect(mentee.get_by_role("status")).to_have_text("Maya Mentor is in the call")
    await join_call(mentee)

    for page in (mentor, mentee):
        await video_flows(page)
        await expect(page.locator("#status")).to_have_text("In call")
        await expect(page.locator("#remote-placeholder")).to_be_hidden()
        assert await state(page) == "in_call"
    await expect(mentee.locator("#countdown")).to_have_text(re.compile(r"^(00:[0-5]\d|01:00)$"))
    await mentee.screenshot(path=str(shots / "call-phone.png"))

    await mentee.get_by_label("Message").fill("Thanks, this helps!")
    await mentee.get_by_role("button", name="Send").click()
    await expect(mentor.locator("#chat-lines")).to_contain_text("Kiran Mentee Thanks, this helps!")

    # To five seconds before the end: the server's timer warns at four, then ends the call.
    await skip_until_the_call_ends_in(app.api.app, clock, booking_id, 5)
    await expect(mentor.locator("#warning")).to_be_visible(timeout=65_000)
    for page in (mentor, mentee):
        await expect(page.get_by_role("heading", name="The call has ended")).to_be_visible(
            timeout=65_000
        )
        await expect(page.locator("#ended-reason")).to_have_text("Time is up. Thank you both!")
        await expect(page.get_by_role("button", name="Rejoin")).to_be_hidden()
        assert await state(page) == "ended"
        assert await csp_violations(page) == []
    await mentor.screenshot(path=str(shots / "call-ended-phone.png"))

    calls = app.api.app[CALLS]
    await wait_for(lambda: calls.rooms.get(str(booking_id)) is None, what="the room to close")
    async with calls.db.read() as s:
        booking = await s.get(Booking, booking_id)
    assert booking is not None
    assert (booking.status, booking.end_reason) == ("completed", "time_up")


async def test_an_early_call_waits_in_a_waiting_room_that_opens_by_itself(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    app = await call_app(aiohttp_server, aiohttp_client, tmp_path)
    now = app.api.app[CALLS].clock()
    # The join window (5 minutes before the start) opens a few seconds from now.
    early = await app.booking(starts_at=now + timedelta(minutes=5, seconds=6))
    later = await app.booking(starts_at=now + timedelta(hours=3))
    cancelled = await app.booking(starts_at=now, status="cancelled")

    mentee = await logged_in_page(
        browser, app.base, "mentee@example.org", then=f"/call/{later}", timezone_id="Asia/Kolkata"
    )
    await expect(mentee.get_by_role("heading", level=1)).to_have_text(
        "Your call with Maya Mentor starts in 3 h 0 min"
    )
    starts = mentee.locator("#waiting time").first
    await expect(starts).not_to_contain_text("Z")  # the viewer's own time, not raw UTC
    assert await state(mentee) == "waiting"
    assert not await mentee.get_by_role("button", name="Join call").is_visible()

    await mentee.goto(f"{app.base}/call/{early}")
    await expect(mentee.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^Your call with Maya Mentor starts in 5 min$")
    )
    await expect(mentee.get_by_text("The call has ended")).to_be_hidden()
    await no_sideways_scroll(mentee)
    await mentee.screenshot(path=str(shots / "call-waiting-phone.png"))
    desktop = await mentee.context.browser.new_page(viewport=DESKTOP)  # type: ignore[union-attr]
    await desktop.context.add_cookies(await mentee.context.cookies())
    await desktop.goto(f"{app.base}/call/{early}")
    await expect(desktop.get_by_role("heading", level=1)).to_contain_text("starts in")
    await desktop.screenshot(path=str(shots / "call-waiting-desktop.png"))
    await desktop.context.close()

    # The window opens: the page moves on to the pre-join check by itself.
    await expect(
        mentee.get_by_role("heading", name="Check your camera and microphone")
    ).to_be_visible(timeout=15_000)
    assert await state(mentee) == "prejoin"
    await expect(mentee.get_by_role("button", name="Join call")).to_be_enabled(timeout=10_000)

    await mentee.goto(f"{app.base}/call/{cancelled}")
    await expect(mentee.get_by_role("heading", name="The call was cancelled")).to_be_visible()
    assert await state(mentee) == "ended"
    assert await csp_violations(mentee) == []


async def test_pre_join_check_leave_with_confirmation_and_rejoin(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    app = await call_app(
        aiohttp_server,
        aiohttp_client,
        tmp_path,
        MICROMENTOR_CALLS_DURATION_SECONDS="120",
        MICROMENTOR_CALLS_MIN_COMPLETED_SECONDS="3",
    )
    booking_id = await app.booking(duration_seconds=120)
    url = f"/call/{booking_id}"
    mentor = await logged_in_page(browser, app.base, "mentor@example.org", then=url)
    mentee = await logged_in_page(browser, app.base, "mentee@example.org", then=url)
    await mentee.set_viewport_size(DESKTOP)

    # The pre-join check: a live preview, a moving level meter, pickers, the choices.
    await expect(
        mentor.get_by_role("heading", name="Check your camera and microphone")
    ).to_be_visible()
    await expect(mentor.get_by_label("Your camera preview")).to_be_visible()
    await mentor.wait_for_function(
        "() => document.getElementById('preview').videoWidth > 0", timeout=10_000
    )
    await mentor.wait_for_function(
        "() => document.getElementById('mic-level').value > 0.01", timeout=10_000
    )
    cameras = mentor.get_by_label("Camera", exact=True)
    microphones = mentor.get_by_label("Microphone", exact=True)
    assert await cameras.locator("option").count() >= 1
    mics = await microphones.locator("option").all_inner_texts()
    assert len(mics) >= 2, mics  # Chromium's fake devices: several microphones
    await microphones.select_option(label=mics[1])
    await mentor.wait_for_function(
        "(label) => window.micromentor.localStream.getAudioTracks()[0].label === label", arg=mics[1]
    )
    await mentor.get_by_label("Join with microphone muted").check()
    assert await state(mentor) == "prejoin"
    await no_sideways_scroll(mentor)
    await mentor.screenshot(path=str(shots / "call-prejoin-phone.png"), full_page=True)
    await mentee.screenshot(path=str(shots / "call-prejoin-desktop.png"))

    # By keyboard: the Join button takes focus and Enter joins.
    join = mentor.get_by_role("button", name="Join call")
    await expect(join).to_be_enabled()
    await join.focus()
    await join.press("Enter")
    await join_call(mentee)
    for page in (mentor, mentee):
        await wait_for_state(page, "in_call")
        await video_flows(page)
    await expect(mentor.get_by_role("button", name="Unmute")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert not await mentor.evaluate("window.micromentor.localStream.getAudioTracks()[0].enabled")

    # In the call: another microphone goes to the sender with replaceTrack, no renegotiation.
    await mentor.get_by_text("Camera and microphone", exact=True).click()
    await microphones.select_option(label=mics[0])
    await mentor.wait_for_function(
        """(label) => window.micromentor.pc.getSenders()
             .some((s) => s.track && s.track.kind === 'audio' && s.track.label === label)""",
        arg=mics[0],
    )
    await expect(
        mentee.get_by_role("button", name="Show Maya Mentor's video full screen")
    ).to_be_visible()
    await mentor.get_by_role("button", name="Unmute").click()
    await mentor.set_viewport_size(NARROW)
    await no_sideways_scroll(mentor)
    await mentor.screenshot(path=str(shots / "call-in-call-phone.png"))
    await mentee.screenshot(path=str(shots / "call-in-call-desktop.png"))
    await mentor.set_viewport_size({"width": 390, "height": 844})

    # Leaving asks first; Escape (or "Stay") keeps the call and gives focus back.
    leave = mentee.get_by_role("button", name="Leave", exact=True)
    await leave.click()
    dialog = mentee.get_by_role("dialog", name="Leave the call?")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("button", name="Stay in the call")).to_be_focused()
    await mentee.screenshot(path=str(shots / "call-leave-dialog-desktop.png"))
    await mentee.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(leave).to_be_focused()
    assert await state(mentee) == "in_call"
    await leave.press("Enter")
    await dialog.get_by_role("button", name="Leave call").click()
    await expect(mentee.get_by_role("heading", name="You left the call")).to_be_visible()
    assert await state(mentee) == "left"

    # The mentor does not keep a frozen picture: the mentee's name, "left the call".
    await expect(mentor.locator("#remote-placeholder")).to_have_text("Kiran Mentee left the call")
    await expect(mentor.get_by_label("Kiran Mentee's video", exact=True)).to_be_hidden()
    await expect(mentor.locator("#status")).to_contain_text("Kiran Mentee left the call")
    assert await state(mentor) == "in_call"
    await mentor.screenshot(path=str(shots / "call-peer-left-phone.png"))
    await mentee.screenshot(path=str(shots / "call-left-desktop.png"))

    # Rejoin: a new join, socket and offer; video flows both ways again.
    await mentee.get_by_role("button", name="Rejoin").click()
    for page in (mentee, mentor):
        await wait_for_state(page, "in_call")
        await video_flows(page)
    await expect(mentor.locator("#remote-placeholder")).to_be_hidden()
    await expect(mentor.locator("#status")).to_have_text("In call")
    for page in (mentor, mentee):
        assert await csp_violations(page) == []


async def test_the_site_header_takes_no_room_on_a_phone(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path
) -> None:
    app = await call_app(aiohttp_server, aiohttp_client, tmp_path)
    booking_id = await app.booking()
    page = await logged_in_page(browser, app.base, "mentee@example.org", then=f"/call/{booking_id}")
    await page.set_viewport_size(NARROW)
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="micromentor")).to_be_visible()
    await expect(nav.get_by_role("link", name="Dashboard")).to_be_hidden()
    height = await page.evaluate("document.querySelector('header.site').offsetHeight")
    assert height <= 56, height
    # Still there for the keyboard: from the brand link, Tab reaches the other links.
    await nav.get_by_role("link", name="micromentor").focus()
    await page.keyboard.press("Tab")
    await expect(nav.get_by_role("link", name="Mentors")).to_be_focused()
    await no_sideways_scroll(page)
    await page.set_viewport_size(DESKTOP)
    await expect(nav.get_by_role("link", name="Dashboard")).to_be_visible()
