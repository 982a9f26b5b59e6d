"""Two people in two Chromium windows (phone-sized) on a booking's conversation: each sees the
other's messages, typing and "seen" marks arrive without reloading, the menu's unread badge
changes live, markup stays text, and a line typed in the call shows up in the conversation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from server.app import create_app
from tests.browser.conftest import csp_violations, logged_in_page
from tests.conftest import FAST_PASSWORDS, make_config
from tests.support.booking import Site, book, first_slot, pay
from tests.support.images import png

pytestmark = pytest.mark.browser


async def test_two_people_talk_live_and_the_calls_chat_joins_the_conversation(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    config = make_config(
        tmp_path,
        MICROMENTOR_MEDIA_ICE_ADDRESSES="127.0.0.1",
        MICROMENTOR_BOOKING_MIN_NOTICE_MINUTES="0",
        MICROMENTOR_BOOKING_JOIN_EARLY_MINUTES="60",
    )
    server = await aiohttp_server(create_app(config, passwords=FAST_PASSWORDS))
    site = Site(server, aiohttp_client)
    _mentor, mentor_id, _token = await site.mentor("meera@example.org")
    api, _id, token = await site.user("kiran@example.org")
    booking = await pay(
        api, token, await book(api, token, mentor_id, await first_slot(api, mentor_id))
    )
    base = f"http://127.0.0.1:{server.port}"
    url = f"/conversations/{booking['id']}"

    mentee = await logged_in_page(browser, base, "kiran@example.org", then=url)
    mentor = await logged_in_page(browser, base, "meera@example.org", then="/dashboard")
    badge = mentor.get_by_role("navigation", name="Main").locator('[data-badge="messages"]')
    await expect(badge).to_be_hidden()

    # The mentee writes (keyboard only: the field, then Ctrl+Enter); the mentor's menu counts it.
    box = mentee.get_by_role("textbox", name="Message")
    await box.focus()
    await mentee.keyboard.type("Hello! Could we look at my **resume**?")
    await mentee.keyboard.press("Control+Enter")
    mine = mentee.locator(".message.mine").last
    await expect(mine).to_contain_text("Hello! Could we look at my resume?")
    await expect(mine.locator("strong")).to_have_text("resume")
    await expect(badge).to_have_text("1")
    await expect(badge).to_be_visible()

    # The mentor opens the conversation from the list: the mentee's message turns "seen".
    await mentor.get_by_role("link", name="Messages").click()
    item = mentor.locator("[data-conversations] li").first
    await expect(item.locator("[data-unread]")).to_have_text("1")
    await item.get_by_role("link").click()
    await mentor.wait_for_url(f"**{url}")
    await expect(badge).to_be_hidden()
    await expect(mine).to_contain_text("seen")

    # The mentor types: the mentee sees it, then the reply, and the reply is seen at once.
    mentor_box = mentor.get_by_role("textbox", name="Message")
    await mentor_box.press_sequentially("Sure, send")
    await expect(mentee.get_by_text("is typing…")).to_be_visible()
    await expect(mentee.locator("[data-typing]")).to_have_text("Asha Rao is typing…")
    await mentor_box.press_sequentially(
        " it over. <script>alert(1)</script> [x](javascript:alert(1))"
    )
    await mentor.get_by_role("button", name="Send").click()
    reply = mentee.locator(".message:not(.mine)").last
    await expect(reply).to_contain_text("<script>alert(1)</script> [x](javascript:alert(1))")
    await expect(reply.locator("script")).to_have_count(0)
    await expect(reply.locator("a")).to_have_count(0)
    await expect(mentor.locator(".message.mine").last).to_contain_text("seen")

    # A code block, and a picture sent with the file field.
    await mentor_box.fill("Try this:\n```python\nprint('hi')\n```")
    await mentor.get_by_role("button", name="Send").click()
    await expect(mentee.locator("pre code.language-python").last).to_have_text("print('hi')")
    await mentee.get_by_label("Attach a file").set_input_files(
        files=[{"name": "sketch.png", "mimeType": "image/png", "buffer": png(60, 40)}]
    )
    await mentee.get_by_role("button", name="Send").click()
    await expect(mentor.get_by_role("link", name="sketch.png")).to_be_visible()
    await expect(mentor.get_by_role("img", name="sketch.png")).to_be_visible()
    await expect(mentee.get_by_role("link", name="sketch.png")).to_be_visible()
    await mentee.get_by_label("Attach a file").set_input_files(
        files=[{"name": "page.png", "mimeType": "image/png", "buffer": b"<html><script></script>"}]
    )
    await mentee.get_by_role("button", name="Send").click()
    await expect(mentee.get_by_role("alert")).to_contain_text("cannot be attached")
    await mentee.screenshot(path=str(shots / "conversation-phone.png"), full_page=True)

    # In the call, the mentee types a line; afterwards the conversation holds it.
    await mentee.goto(f"{base}/call/{booking['id']}")
    await expect(mentee.get_by_role("status")).to_have_text("Waiting for the mentor to join…")
    await mentee.get_by_placeholder("Type a message").fill("Typed during the call")
    await mentee.get_by_placeholder("Type a message").press("Enter")
    await expect(mentee.locator("#chat-lines")).to_contain_text("Typed during the call")
    await expect(mentor.locator(".message:not(.mine)").last).to_contain_text(
        "Typed during the call"
    )
    await mentee.goto(f"{base}{url}")
    await expect(mentee.locator(".message.mine").last).to_contain_text("Typed during the call")
    for page in (mentee, mentor):
        assert await csp_violations(page) == []
