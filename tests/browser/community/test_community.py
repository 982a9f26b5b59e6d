"""On phones: a mentor joins "Interview prep" and publishes a post there with a cover image; a
mentee joins the community, replies and reports the post; the administrator finds the report
in the console's moderation queue. The post's markup stays text all the way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Dialog, expect

from server.app import create_app
from tests.browser.conftest import csp_violations, logged_in_page, look
from tests.conftest import FAST_PASSWORDS, make_config, register
from tests.support.booking import Site
from tests.support.images import png

pytestmark = pytest.mark.browser


async def test_a_post_a_reply_and_a_report_reach_the_administrator(
    browser: Browser, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Path, shots: Path
) -> None:
    server = await aiohttp_server(create_app(make_config(tmp_path), passwords=FAST_PASSWORDS))
    site = Site(server, aiohttp_client)
    await site.mentor("meera@example.org")  # approved by root@example.org, an administrator
    await register(await aiohttp_client(server), "kiran@example.org", "mentee", "Kiran Shah")
    base = f"http://127.0.0.1:{server.port}"
    cover = tmp_path / "cover.png"
    cover.write_bytes(png(48, 27))

    # The mentor joins the community from the menu's Community page, then writes there.
    mentor = await logged_in_page(browser, base, "meera@example.org")
    await mentor.get_by_role("link", name="Community", exact=True).click()
    await mentor.get_by_role("button", name="Join Interview prep").click()
    await expect(mentor.get_by_role("status")).to_contain_text("You joined")
    await mentor.get_by_role("link", name="Write a post here").click()
    await mentor.get_by_label("Title").fill("Five mock interviews <b>before</b> the real one")
    await mentor.get_by_label("Text").fill("Practise **out loud**.\n\n<script>alert(1)</script>")
    await expect(mentor.get_by_label("Community")).to_have_value("interview-prep")
    await mentor.get_by_label("Cover image").set_input_files(str(cover))
    await mentor.get_by_role("button", name="Publish").click()
    await mentor.wait_for_url("**/posts/*?done=published")
    heading = mentor.get_by_role("heading", level=1)
    await expect(heading).to_have_text("Five mock interviews <b>before</b> the real one")
    body = mentor.locator(".post-body").first
    await expect(body.locator("strong")).to_have_text("out loud")
    await expect(body).to_contain_text("<script>alert(1)</script>")  # shown, never run
    await expect(body.locator("script")).to_have_count(0)
    cover_image = mentor.locator("img.post-cover")
    await expect(cover_image).to_have_js_property("naturalWidth", 48)  # served by the server

    # The mentee joins, opens the post from the community's feed, replies and reports it.
    mentee = await logged_in_page(browser, base, "kiran@example.org", then="/community")
    communities = mentee.get_by_role("region", name="Communities")
    await communities.get_by_role("link", name="Interview prep").click()
    await mentee.get_by_role("button", name="Join the community").click()
    await expect(mentee.get_by_role("status")).to_contain_text("You joined")
    await mentee.get_by_role("link", name="Five mock interviews <b>before</b> the real one").click()
    await mentee.get_by_label("Your reply").fill("Thanks! Is *one a week* enough?")
    await mentee.get_by_role("button", name="Reply", exact=True).click()
    await expect(mentee.locator(".reply em")).to_have_text("one a week")
    await look(mentee, shots, "community-post")
    await mentee.locator("summary", has_text="Report").first.click()
    await mentee.get_by_label("What is wrong with this post?").fill("Looks like an advert")
    await mentee.get_by_role("button", name="Report it to the moderators").click()
    await expect(mentee.get_by_role("status")).to_contain_text("a moderator will look")

    # The administrator sees it waiting, then in the queue with the reason.
    admin = await logged_in_page(browser, base, "root@example.org", then="/admin")
    await admin.get_by_role("link", name="1 reported post or reply").click()
    case = admin.locator(".moderation-case")
    await expect(case).to_contain_text("Five mock interviews <b>before</b> the real one")
    await expect(case).to_contain_text("Looks like an advert")
    await expect(case.get_by_role("button", name="Hide it")).to_be_visible()
    await look(admin, shots, "admin-community")

    # Deleting asks first; saying no keeps the post.
    asked: list[str] = []

    async def say_no(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    mentor.on("dialog", say_no)
    await mentor.get_by_role("button", name="Delete").click()
    await expect(heading).to_be_visible()
    assert asked == ["Delete this post and its replies? This cannot be undone."]
    for page in (mentor, mentee, admin):
        assert await csp_violations(page) == []
