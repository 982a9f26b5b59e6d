"""A newcomer's journeys through the pages, in Debian's Chromium, looked at as a reviewer
would: a screenshot of every step at 375 px and at 1280 px (in the `shots` folder, see the
README), no sideways scrolling on the phone, and no serious or critical axe-core violation
(issue 15).

1. A mentor: the landing page's "Become a mentor", the sign-up with the role chosen, the
   application in rupees with a photo previewed before it is saved, the time zone picked from
   the list, and the administrator approving it in the console.
2. A mentee finds that mentor, books and pays, sees the confirmation; both dashboards show
   the call with its agenda; the mentee moves it once, then cancels it and sees the refund the
   policy promised before confirming.
3. A call booked through the pages, from the waiting room to "Book again".
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from server.accounts.service import ACCOUNTS
from server.app import create_app
from tests.browser.conftest import (
    PHONE,
    csp_violations,
    logged_in_page,
    look,
    skip_until_the_call_ends_in,
    watched_context,
)
from tests.conftest import FAST_PASSWORDS, PASSWORD, make_config
from tests.support.booking import Site
from tests.support.clock import SkipClock
from tests.support.images import png

pytestmark = pytest.mark.browser


async def sign_up(page: Page, name: str, email: str) -> None:
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()


async def test_a_mentor_applies_and_a_mentee_books_pays_and_cancels(
    browser: Browser, aiohttp_server: Any, tmp_path: Path, shots: Path
) -> None:
    config = make_config(tmp_path, MICROMENTOR_BOOKING_MIN_NOTICE_MINUTES="0")
    server = await aiohttp_server(create_app(config, passwords=FAST_PASSWORDS))
    await server.app[ACCOUNTS].make_admin("root@example.org", PASSWORD, "Root Admin")
    base = f"http://127.0.0.1:{server.port}"

    # 1. The mentor arrives on the landing page and takes the way in for mentors.
    context = await watched_context(browser, viewport=PHONE, timezone_id="Asia/Kolkata")
    mentor = await context.new_page()
    await mentor.goto(base)
    await look(mentor, shots, "01-landing")
    await mentor.get_by_role("link", name="Become a mentor").click()
    await expect(mentor.get_by_role("radio", name="Mentor others")).to_be_checked()
    await look(mentor, shots, "02-sign-up-as-mentor")
    await sign_up(mentor, "Meera Nair", "meera@example.org")
    await mentor.wait_for_url("**/become-a-mentor")
    await mentor.get_by_label("Headline").fill("Staff engineer, distributed systems")
    await mentor.get_by_label("About you").fill("I help with system design interviews.")
    await mentor.get_by_label("Skills").fill("System Design, DSA")
    await mentor.get_by_label("Institution or company").fill("IIT Madras")
    price = mentor.get_by_label("Price per call, in rupees")
    await expect(price).to_have_value("100")
    await price.fill("150")
    await look(mentor, shots, "03-application")
    await mentor.get_by_role("button", name="Send application").click()
    await expect(mentor.get_by_text("waiting for review")).to_be_visible()

    preview = mentor.locator("#photo-preview")
    await expect(preview).to_be_hidden()
    await mentor.get_by_label("Choose a photo").set_input_files(
        files=[{"name": "me.png", "mimeType": "image/png", "buffer": png(48, 48)}]
    )
    await expect(preview).to_be_visible()  # seen before it is saved
    await mentor.get_by_role("button", name="Save photo").click()
    await expect(mentor.get_by_text("Photo saved.")).to_be_visible()
    zone = mentor.get_by_label("Your time zone")
    assert await mentor.locator("#zones option[value='Asia/Kolkata']").count() == 1
    assert await mentor.locator("#zones option[value='Asia/Calcutta']").count() == 0
    await zone.fill("Asia/Kolkata")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        await mentor.get_by_label(f"{day} from").fill("00:00")
        await mentor.get_by_label(f"{day} until").fill("23:45")
    await mentor.get_by_role("button", name="Save availability").click()
    await expect(mentor.get_by_text("Saved.", exact=True)).to_be_visible()
    await look(mentor, shots, "04-application-sent")
    await mentor.goto(f"{base}/dashboard")
    await expect(mentor.get_by_text("waiting for an administrator's review")).to_be_visible()
    await look(mentor, shots, "05-mentor-dashboard-pending")

    # The administrator approves it in the console.
    admin = await logged_in_page(browser, base, "root@example.org", then="/admin/mentors")
    application = admin.get_by_role("region", name="Meera Nair")
    await expect(application).to_contain_text("₹150 per call")
    await look(admin, shots, "06-admin-applications")
    await application.get_by_role("button", name="Approve").click()
    await expect(admin.get_by_text("No applications are waiting.")).to_be_visible()
    await admin.goto(f"{base}/dashboard")
    await expect(admin.locator("dl.facts")).to_contain_text("Administrator")

    # 2. A new mentee finds her.
    context = await watched_context(browser, viewport=PHONE, timezone_id="Asia/Kolkata")
    mentee = await context.new_page()
    await mentee.goto(f"{base}/register")
    await sign_up(mentee, "Kiran Rao", "kiran@example.org")
    await mentee.wait_for_url("**/dashboard")
    await mentee.get_by_role("link", name="Mentors", exact=True).click()
    card = mentee.locator(".mentor-card", has_text="Meera Nair")
    await expect(card).to_contain_text("₹150")
    await expect(card.locator("img.avatar")).to_be_visible()
    await look(mentee, shots, "07-discovery")
    await card.get_by_role("link", name="View and book").click()
    await expect(mentee.get_by_role("heading", name="Meera Nair")).to_be_visible()
    await look(mentee, shots, "08-mentor-page")

    # Books a slot two days ahead (far enough to move it later), and pays.
    await mentee.locator("#days button:not([disabled])").nth(2).click()
    await mentee.locator("#times .slot").nth(3).click()
    await mentee.get_by_label("What do you want to talk about?").fill("Mock system design round")
    await mentee.get_by_label("I accept the cancellation policy").check()
    await mentee.get_by_role("button", name="Book this slot").click()
    await mentee.wait_for_url("**/payments/simulator/*")
    summary = mentee.locator("dl.facts")
    await expect(summary).to_contain_text("Meera Nair")
    await expect(summary).to_contain_text("10 minutes")
    await expect(mentee.get_by_text("The slot is held for you until")).to_be_visible()
    await look(mentee, shots, "09-pay")
    await mentee.get_by_role("button", name="Pay ₹150.00 (test)").click()
    await mentee.wait_for_url("**/dashboard?paid=*")
    confirmation = mentee.get_by_role("status").filter(has_text="Paid.")
    await expect(confirmation).to_contain_text("Your call with Meera Nair is booked")
    await expect(
        confirmation.get_by_role("link", name="Add it to your calendar (.ics)")
    ).to_be_visible()
    await look(mentee, shots, "10-paid")

    # Both dashboards show it, with the agenda.
    await mentor.goto(f"{base}/dashboard")
    row = mentor.locator("li.booking").first
    await expect(row).to_contain_text("Kiran Rao")
    await expect(row).to_contain_text("Mock system design round")
    await look(mentor, shots, "11-mentor-dashboard")

    # The mentee moves the call once.
    row = mentee.locator("li.booking").first
    await row.get_by_role("link", name="Reschedule").click()
    await expect(
        mentee.get_by_role("heading", name="Move your call with Meera Nair")
    ).to_be_visible()
    await look(mentee, shots, "12-reschedule")
    later = mentee.locator(".move-day").nth(3)
    await later.locator("summary").click()  # three days on: a full refund still
    await later.locator(".move-time").first.click()
    await mentee.get_by_role("button", name="Move the call").click()
    await mentee.wait_for_url("**/dashboard?moved=*")
    await expect(mentee.get_by_role("status").filter(has_text="Moved.")).to_be_visible()
    await expect(row).to_contain_text("Moved from")
    await expect(row.get_by_role("link", name="Reschedule")).to_have_count(0)

    # And then cancels it, seeing the refund first.
    await row.get_by_role("link", name="Cancel").click()
    refund = mentee.get_by_role("note", name="Refund")
    await expect(refund).to_contain_text("You get back ₹150 of the ₹150 you paid")
    await look(mentee, shots, "13-cancel")
    await mentee.get_by_label("Why are you cancelling?").fill("My exam moved to that day")
    await mentee.get_by_role("button", name="Cancel the call").click()
    await mentee.wait_for_url("**/dashboard?cancelled=*")
    await expect(mentee.get_by_role("status").filter(has_text="Cancelled.")).to_contain_text(
        "₹150 is refunded"
    )
    await look(mentee, shots, "14-cancelled")
    for page in (mentor, admin, mentee):
        assert await csp_violations(page) == []


async def test_a_booked_call_from_the_waiting_room_to_book_again(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    """3. Booked through the pages for a moment ahead: both wait in the waiting room, pass the
    camera and microphone check, one leaves and rejoins, the server ends the call on time, and
    "Book again" opens the same mentor. The server's clock skips the waits: to ten seconds
    before the start, and to two before the end once the rejoin is seen."""
    config = make_config(
        tmp_path,
        MICROMENTOR_MEDIA_ICE_ADDRESSES="127.0.0.1",
        MICROMENTOR_CALLS_DURATION_SECONDS="25",
        MICROMENTOR_CALLS_WARNING_SECONDS="5",
        MICROMENTOR_CALLS_MIN_COMPLETED_SECONDS="3",
        MICROMENTOR_BOOKING_MIN_NOTICE_MINUTES="0",
        MICROMENTOR_BOOKING_BUFFER_MINUTES="0",
        MICROMENTOR_BOOKING_JOIN_EARLY_MINUTES="0",
        MICROMENTOR_BOOKING_HORIZON_DAYS="1",  # a day of 25-second slots is enough to list
    )
    clock = SkipClock()
    server = await aiohttp_server(
        create_app(config, passwords=FAST_PASSWORDS, clock=clock.now, sleep=clock.sleep)
    )
    site = Site(server, aiohttp_client)
    _client, mentor_id, _token = await site.mentor("meera@example.org")
    await site.user("kiran@example.org")
    base = f"http://127.0.0.1:{server.port}"

    mentee = await logged_in_page(browser, base, "kiran@example.org", then=f"/mentors/{mentor_id}")
    slots = mentee.locator("#times .slot")
    await expect(slots.first).to_be_visible()
    starts = await slots.nth(1).get_attribute("data-start")
    assert starts is not None
    await slots.nth(1).click()  # 25-second slots: under a minute ahead
    await mentee.get_by_label("I accept the cancellation policy").check()
    await mentee.get_by_role("button", name="Book this slot").click()
    await mentee.wait_for_url("**/payments/simulator/*")
    await mentee.get_by_role("button", name=re.compile(r"^Pay ₹")).click()
    await mentee.wait_for_url("**/dashboard?paid=*")
    # Rather than wait out the slot, the server's clock skips to ten seconds before it: the
    # waiting room counts down on the server's clock (as the page saw it at load) all the same.
    ahead = datetime.fromisoformat(starts.replace("Z", "+00:00")) - clock.now()
    clock.skip(max(0.0, ahead.total_seconds() - 10))
    await mentee.locator("li.booking").first.get_by_role("link", name="Join").click()
    await expect(mentee.get_by_text(re.compile("starts in"))).to_be_visible()
    await look(mentee, shots, "20-waiting-room")

    mentor = await logged_in_page(browser, base, "meera@example.org")
    await mentor.locator("li.booking").first.get_by_role("link", name="Join").click()
    for page in (mentee, mentor):  # the waiting room opens the check by itself at the start
        await expect(
            page.get_by_role("heading", name="Check your camera and microphone")
        ).to_be_visible(timeout=90_000)
    await look(mentee, shots, "21-pre-join")
    for page in (mentee, mentor):
        join = page.get_by_role("button", name="Join call")
        await expect(join).to_be_enabled(timeout=10_000)
        await join.click()
    for page in (mentee, mentor):
        await page.wait_for_function(
            "() => document.getElementById('remote').videoWidth > 0", timeout=20_000
        )
        await expect(page.locator("#status")).to_have_text("In call")
    await mentee.screenshot(path=str(shots / "22-in-call-phone.png"), full_page=True)

    # The mentee leaves (asked first), and comes back while time remains.
    await mentee.get_by_role("button", name="Leave", exact=True).click()
    await (
        mentee.get_by_role("dialog", name="Leave the call?")
        .get_by_role("button", name="Leave call")
        .click()
    )
    await expect(mentee.get_by_role("heading", name="You left the call")).to_be_visible()
    await expect(mentor.locator("#remote-placeholder")).to_contain_text("left the call")
    await mentee.get_by_role("button", name="Rejoin").click()
    await mentee.wait_for_function("() => window.micromentor.state === 'in_call'", timeout=20_000)
    await expect(mentor.locator("#status")).to_have_text("In call", timeout=20_000)

    # The server ends it on time (its clock skipped to two seconds before the end); then
    # "Book again" leads back to her.
    booking = re.search(r"/call/(\d+)", mentee.url)
    assert booking is not None, mentee.url
    await skip_until_the_call_ends_in(server.app, clock, int(booking[1]), 2)
    for page in (mentee, mentor):
        await expect(page.get_by_role("heading", name="The call has ended")).to_be_visible(
            timeout=40_000
        )
    await look(mentee, shots, "23-ended")
    await mentee.get_by_role("link", name="Back to your dashboard").click()
    past = mentee.locator("li.booking", has_text="Completed").first
    await expect(past).to_be_visible()
    await past.get_by_role("link", name="Book again").click()
    await expect(mentee.get_by_role("heading", name=re.compile("^Asha Rao"))).to_be_visible()
    for page in (mentee, mentor):
        assert await csp_violations(page) == []
