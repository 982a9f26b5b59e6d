"""A booking's conversation: only its two participants, the call's chat in the same history,
read receipts and unread counts, text that stays text, and the rate limit (issue 14)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from server.calls.api import CHATS
from tests.conftest import FakeClock
from tests.support.booking import Site, book, first_slot, pay

Client = TestClient[Any, Any]


async def booked(site: Site) -> tuple[int, Client, str, Client, str]:
    """A paid booking; the mentor's and the mentee's clients and CSRF tokens."""
    mentor, mentor_id, mentor_token = await site.mentor()
    mentee, _id, mentee_token = await site.user("mentee@example.org")
    made = await book(mentee, mentee_token, mentor_id, await first_slot(mentee, mentor_id))
    booking = await pay(mentee, mentee_token, made)
    return booking["id"], mentor, mentor_token, mentee, mentee_token


async def send(client: Client, token: str, booking_id: int, text: str) -> Any:
    return await client.post(
        f"/api/conversations/{booking_id}/messages",
        json={"text": text},
        headers={"X-CSRF-Token": token},
    )


async def test_the_two_sides_write_and_see_unread_counts_and_receipts(site: Site) -> None:
    booking_id, mentor, mentor_token, mentee, mentee_token = await booked(site)
    sent = await send(mentee, mentee_token, booking_id, "Hello! I want to talk about caching.")
    assert sent.status == 201
    listed = await (await mentor.get("/api/conversations")).json()
    assert listed["unread"] == 1
    assert listed["items"][0]["other"]["name"] == "Asha Rao"
    assert listed["items"][0]["last_message"]["text"].startswith("Hello!")

    history = await (await mentee.get(f"/api/conversations/{booking_id}/messages")).json()
    assert history["read_by_other"] == 0  # not seen yet
    read = await mentor.put(
        f"/api/conversations/{booking_id}/read", headers={"X-CSRF-Token": mentor_token}
    )
    assert read.status == 204
    assert (await (await mentor.get("/api/conversations")).json())["unread"] == 0
    history = await (await mentee.get(f"/api/conversations/{booking_id}/messages")).json()
    assert history["read_by_other"] == history["items"][-1]["id"]  # seen


async def test_the_calls_chat_is_the_same_conversation(site: Site, clock: FakeClock) -> None:
    """What the call socket stores (signaling's ChatStore) is the conversation's history."""
    booking_id, mentor, _mentor_token, _mentee, _mentee_token = await booked(site)
    await site.server.app[CHATS].save_chat(str(booking_id), "mentee", "typed in the call", clock())
    history = await (await mentor.get(f"/api/conversations/{booking_id}/messages")).json()
    assert [m["text"] for m in history["items"]] == ["typed in the call"]
    assert history["items"][0]["from"] == "mentee"


async def test_a_third_user_gets_404_for_everything(site: Site) -> None:
    booking_id, *_rest = await booked(site)
    stranger, _id, token = await site.user("stranger@example.org")
    for response in (
        await stranger.get(f"/api/conversations/{booking_id}/messages"),
        await send(stranger, token, booking_id, "hi"),
        await stranger.put(
            f"/api/conversations/{booking_id}/read", headers={"X-CSRF-Token": token}
        ),
        await stranger.get(f"/conversations/{booking_id}", headers={"Accept": "application/json"}),
    ):
        assert response.status == 404
    assert (await (await stranger.get("/api/conversations")).json())["items"] == []


async def test_an_unpaid_booking_has_no_conversation(site: Site) -> None:
    _mentor, mentor_id, _token = await site.mentor()
    mentee, _id, token = await site.user("mentee@example.org")
    made = await (await book(mentee, token, mentor_id, await first_slot(mentee, mentor_id))).json()
    response = await send(mentee, token, made["booking"]["id"], "hello?")
    assert response.status == 404


async def test_markup_is_shown_as_text_on_the_page(site: Site) -> None:
    booking_id, mentor, _token, mentee, mentee_token = await booked(site)
    evil = "<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    assert (await send(mentee, mentee_token, booking_id, evil)).status == 201
    page = await (await mentor.get(f"/conversations/{booking_id}")).text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert 'href="javascript:' not in page


async def test_the_page_form_sends_and_the_dashboard_links_to_it(site: Site) -> None:
    booking_id, mentor, _token, _mentee, _mentee_token = await booked(site)
    dashboard = await (await mentor.get("/dashboard")).text()
    assert f'href="/conversations/{booking_id}"' in dashboard
    page = await (await mentor.get(f"/conversations/{booking_id}")).text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    sent = await mentor.post(
        f"/conversations/{booking_id}", data={"csrf_token": csrf.group(1), "text": "See you!"}
    )
    assert sent.status == 200 and "See you!" in await sent.text()
    blank = await mentor.post(
        f"/conversations/{booking_id}", data={"csrf_token": csrf.group(1), "text": "   "}
    )
    assert blank.status == 400 and "must not be blank" in await blank.text()


async def test_the_31st_message_in_a_minute_is_429(site: Site, clock: FakeClock) -> None:
    booking_id, _mentor, _token, mentee, mentee_token = await booked(site)
    for i in range(30):
        assert (await send(mentee, mentee_token, booking_id, f"message {i}")).status == 201
    refused = await send(mentee, mentee_token, booking_id, "one too many")
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) == 60
    clock.advance(seconds=61)
    assert (await send(mentee, mentee_token, booking_id, "later")).status == 201
    history = await (await mentee.get(f"/api/conversations/{booking_id}/messages")).json()
    assert len(history["items"]) == 31  # nothing lost, nothing half-written
