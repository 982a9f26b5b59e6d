"""The assistant on a conversation page in Chromium, on a phone: the draft fills the box as it
streams in, the mentee edits it and posts it, and both see it marked as the assistant's; a
discarded draft leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import accessibility_problems, csp_violations, logged_in_page
from tests.integration.assistant.conftest import MakeScene, fake, make_scene

pytestmark = pytest.mark.browser
__all__ = ["fake", "make_scene"]  # the integration tests' fixtures, used here too


async def test_draft_edit_and_post_on_a_phone(
    browser: Browser, make_scene: MakeScene, shots: Path
) -> None:
    scene = await make_scene()
    await scene.say(scene.mentee, "Could we look at consistent hashing?")
    server = scene.mentor.client.server
    base = f"http://{server.host}:{server.port}"
    conversation = f"/conversations/{scene.booking_id}"
    page = await logged_in_page(browser, base, "mentee@example.org", then=conversation)
    scene.fake.hold_after_first = True

    await page.get_by_role("button", name="Draft an agenda").click()
    box = page.get_by_label("Drafted by the assistant")
    post = page.get_by_role("button", name="Post", exact=True)
    await expect(box).to_have_value("**Agenda**\n")  # the first piece, before the rest exists
    await expect(post).to_be_disabled()
    scene.fake.go_on.set()
    await expect(box).to_have_value("**Agenda**\n1. Intro (2 min)\n")
    await expect(post).to_be_enabled()
    assert len(await scene.messages()) == 1  # only the question: the draft is not posted
    assert await accessibility_problems(page) == []
    await page.screenshot(path=str(shots / "assistant-draft-phone.png"), full_page=True)

    await box.press("End")
    await box.type("2. Hashing rings (5 min)")
    await post.click()
    mark = page.locator(".message [data-drafted]")
    await expect(mark).to_have_text("Drafted by the assistant, posted by Asha Rao")
    await expect(page.locator(".message").last.locator("li").last).to_have_text(
        "Hashing rings (5 min)"
    )
    await expect(box).to_be_hidden()
    [_question, posted] = await scene.messages()
    assert posted["drafted_by_assistant"] and posted["text"].endswith("Hashing rings (5 min)")

    # Another draft, thrown away: nothing is posted.
    await page.get_by_role("button", name="Draft an agenda").click()
    await expect(box).to_have_value("**Agenda**\n1. Intro (2 min)\n")
    await page.get_by_role("button", name="Discard").click()
    await expect(box).to_be_hidden()
    assert len(await scene.messages()) == 2
    assert await csp_violations(page) == []
    await page.screenshot(path=str(shots / "assistant-posted-phone.png"), full_page=True)

    # The mentor's page shows the mark with the mentee's name.
    mentor = await logged_in_page(browser, base, "mentor@example.org", then=conversation)
    await expect(mentor.locator(".message [data-drafted]")).to_have_text(
        "Drafted by the assistant, posted by Asha Rao"
    )
