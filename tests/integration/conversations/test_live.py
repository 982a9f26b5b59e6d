"""The live socket (/ws/live): a message sent by one side reaches the other's open pages at
once with the new unread counts; typing indicators and read receipts pass between the two
sides only; bad frames get an error and leave the socket open (issue 14)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import ClientWebSocketResponse, WSServerHandshakeError

from server.calls.api import CHATS
from server.notifications.service import NOTIFICATIONS
from tests.conftest import FakeClock
from tests.integration.conversations.test_conversations import booked, send
from tests.support.booking import Site

WS = ClientWebSocketResponse


async def next_of(ws: WS, kind: str, seconds: float = 5) -> dict[str, Any]:
    """The next event of `kind`, skipping others."""
    async with asyncio.timeout(seconds):
        while True:
            event = await ws.receive_json()
            if event["type"] == kind:
                return event


async def nothing_more(ws: WS, kind: str) -> None:
    """No event of `kind` arrives within a short while."""
    try:
        await next_of(ws, kind, seconds=0.3)
    except TimeoutError:
        return
    raise AssertionError(f"an unexpected {kind} event")


async def test_a_message_reaches_the_other_side_live_with_counts(site: Site) -> None:
    booking_id, mentor, _mt, mentee, mentee_token = await booked(site)
    async with (
        mentor.ws_connect("/ws/live") as mentor_ws,
        mentee.ws_connect("/ws/live") as mentee_ws,
    ):
        hello = await next_of(mentor_ws, "hello")
        assert hello["unread"] == {"messages": 0, "notifications": 0}
        await next_of(mentee_ws, "hello")

        await mentee_ws.send_json(
            {"type": "send", "booking_id": booking_id, "text": "**Hi** there", "ref": "a1"}
        )
        sent = await next_of(mentee_ws, "sent")
        assert sent["ref"] == "a1" and sent["message"]["text"] == "**Hi** there"
        arrived = await next_of(mentor_ws, "message")
        assert arrived["booking_id"] == booking_id
        assert arrived["message"]["html"] == "<p><strong>Hi</strong> there</p>"
        assert arrived["message"]["from"] == "mentee"
        unread = await next_of(mentor_ws, "unread")
        assert (unread["messages"], unread["conversation"]) == (1, 1)

        # The REST fallback is live too.
        assert (await send(mentee, mentee_token, booking_id, "and again")).status == 201
        assert (await next_of(mentor_ws, "message"))["message"]["text"] == "and again"
        assert (await next_of(mentor_ws, "unread"))["messages"] == 2

        # Typing goes to the other side only, at most every 2 seconds.
        await mentor_ws.send_json({"type": "typing", "booking_id": booking_id})
        typing = await next_of(mentee_ws, "typing")
        assert typing == {"type": "typing", "booking_id": booking_id, "name": "Asha Rao"}
        await mentor_ws.send_json({"type": "typing", "booking_id": booking_id})
        await nothing_more(mentee_ws, "typing")

        # Reading: the writer sees up to where; the reader's badge goes to 0.
        await mentor_ws.send_json({"type": "read", "booking_id": booking_id})
        read = await next_of(mentee_ws, "read")
        assert read["up_to"] == arrived["message"]["id"] + 1
        assert (await next_of(mentor_ws, "unread"))["messages"] == 0


async def test_the_calls_chat_appears_live_in_the_conversation(
    site: Site, clock: FakeClock
) -> None:
    booking_id, mentor, *_rest = await booked(site)
    async with mentor.ws_connect("/ws/live") as ws:
        await next_of(ws, "hello")
        await site.server.app[CHATS].save_chat(str(booking_id), "mentee", "from the call", clock())
        assert (await next_of(ws, "message"))["message"]["text"] == "from the call"


async def test_bad_frames_get_errors_and_the_socket_stays_open(site: Site) -> None:
    booking_id, _mentor, _mt, mentee, _token = await booked(site)
    stranger, _id, _st = await site.user("stranger@example.org")
    other_id = booking_id + 1000
    async with mentee.ws_connect("/ws/live") as ws:
        await next_of(ws, "hello")
        for frame, code in (
            ("not json", "bad_message"),
            ("[1, 2]", "bad_message"),
            ('{"type": "dance"}', "bad_message"),
            ('{"type": "send", "booking_id": "1", "text": "x"}', "invalid_field"),
            ('{"type": "send", "booking_id": true, "text": "x"}', "invalid_field"),
            (f'{{"type": "send", "booking_id": {other_id}, "text": "x"}}', "not_found"),
            (f'{{"type": "send", "booking_id": {10**30}, "text": "x"}}', "not_found"),
            (f'{{"type": "send", "booking_id": {booking_id}, "text": 5}}', "invalid_field"),
            (f'{{"type": "send", "booking_id": {booking_id}, "text": "   "}}', "invalid_field"),
            (
                f'{{"type": "send", "booking_id": {booking_id}, "text": "a\\u0000b"}}',
                "invalid_field",
            ),
            ("[" * 30_000 + "]" * 30_000, "bad_message"),  # too deep for the parser
        ):
            await ws.send_str(frame)
            error = await next_of(ws, "error")
            assert error["code"] == code, (frame[:60], error)
        await ws.send_bytes(b"\x00\x01")
        assert (await next_of(ws, "error"))["code"] == "bad_message"
        await ws.send_json({"type": "ping", "ref": "p"})
        assert (await next_of(ws, "pong"))["ref"] == "p"
        await ws.send_str("x" * (64 * 1024 + 1))  # over the frame limit: closed, 1009
        assert (await ws.receive()).data == 1009

    async with stranger.ws_connect("/ws/live") as ws:
        await next_of(ws, "hello")
        for kind in ("send", "typing", "read"):
            await ws.send_json({"type": kind, "booking_id": booking_id, "text": "hi"})
            assert (await next_of(ws, "error"))["code"] == "not_found"


async def test_the_31st_message_in_a_minute_is_refused_with_retry_after(site: Site) -> None:
    booking_id, _mentor, _mt, mentee, _token = await booked(site)
    async with mentee.ws_connect("/ws/live") as ws:
        await next_of(ws, "hello")
        for i in range(30):
            await ws.send_json(
                {"type": "send", "booking_id": booking_id, "text": f"m{i}", "ref": str(i)}
            )
            assert (await next_of(ws, "sent"))["ref"] == str(i)
            await asyncio.sleep(0.1)  # under the frame rate
        await ws.send_json({"type": "send", "booking_id": booking_id, "text": "more", "ref": "x"})
        error = await next_of(ws, "error")
        assert (error["code"], error["ref"], error["retry_after"]) == ("too_many_attempts", "x", 60)


async def test_only_logged_in_pages_of_this_site_may_open_it(site: Site) -> None:
    _booking_id, mentor, *_rest = await booked(site)
    anonymous = await site.make_client(site.server)
    for client, headers, status in (
        (anonymous, {}, 401),
        (mentor, {"Origin": "https://evil.example"}, 403),
    ):
        try:
            async with client.ws_connect("/ws/live", headers=headers):
                raise AssertionError("upgraded")
        except WSServerHandshakeError as exc:
            assert exc.status == status


async def test_new_notifications_update_the_badge_live(site: Site) -> None:
    _booking_id, mentor, *_rest = await booked(site)
    async with mentor.ws_connect("/ws/live") as ws:
        assert (await next_of(ws, "hello"))["unread"]["notifications"] == 0
        await site.server.app[NOTIFICATIONS].tick()  # the booking's events become notifications
        event = await next_of(ws, "unread")
        assert event["notifications"] >= 1
        notifications = await (await mentor.get("/api/notifications")).json()
        assert notifications["unread"] == event["notifications"]
