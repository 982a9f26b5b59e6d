"""A call through the real app: join endpoint, call WebSocket, SFU, timer, chat, refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from yarl import URL

from server.calls.service import CALLS
from server.db.models import Booking, ChatLine
from tests.conftest import login
from tests.integration.conftest import MakeClient, Site, make_site
from tests.support.calls import CallParticipant, add_booking
from tests.support.media import Clip, TestPeer, wait_for

Client = TestClient[Any, Any]


@pytest.fixture
async def pair(
    site: Site, video_clip: Clip, audio_clip: Clip
) -> AsyncIterator[tuple[CallParticipant, CallParticipant, int]]:
    mentor_client, mentor_id = await site.user("mentor@example.org", "mentor")
    mentee_client, mentee_id = await site.user("mentee@example.org", "mentee")
    booking_id = await add_booking(mentor_client, mentor_id, mentee_id)
    mentor = CallParticipant(mentor_client, video_clip, audio_clip)
    mentee = CallParticipant(mentee_client, video_clip, audio_clip)
    yield mentor, mentee, booking_id
    await mentor.close()
    await mentee.close()


async def test_a_call_through_the_api(pair: tuple[CallParticipant, CallParticipant, int]) -> None:
    mentor, mentee, booking_id = pair
    info = await mentor.join_info(booking_id)
    assert info["role"] == "mentor"
    assert info["ice_servers"] == []
    assert info["ws_url"].startswith("ws://127.0.0.1:")

    await mentor.join(booking_id)
    first_state = mentor.of_type("state")[0]
    assert first_state["peer"] == "absent"
    assert first_state["ends_at"] is None  # the paid time has not started

    await mentee.join(booking_id)
    await wait_for(
        lambda: mentor.video_frames() > 30 and mentee.video_frames() > 30, what="video both ways"
    )
    await wait_for(
        lambda: any(m["peer"] == "joined" and m["ends_at"] for m in mentor.of_type("state")),
        what="the started state",
    )
    started = [m for m in mentee.of_type("state") if m["ends_at"]][-1]
    assert 590_000 <= started["remaining_ms"] <= 600_000

    await mentee.send({"type": "chat", "text": "  Hello from the mentee  "})
    line = await mentor.next_message("chat")
    assert (line["from"], line["text"]) == ("mentee", "Hello from the mentee")
    assert (await mentee.next_message("chat"))["text"] == "Hello from the mentee"
    calls = mentor.client.app[CALLS]  # type: ignore[index]
    async with calls.db.read() as s:
        lines = (await s.scalars(select(ChatLine).where(ChatLine.booking_id == booking_id))).all()
        booking = await s.get(Booking, booking_id)
    assert [c.text for c in lines] == ["Hello from the mentee"]
    assert booking is not None
    assert booking.status == "in_call"
    assert booking.call_ends_at is not None

    await mentee.send({"type": "leave"})
    assert await mentee.wait_closed() == 1000
    await wait_for(lambda: mentor.of_type("state")[-1]["peer"] == "left", what="peer left")
    assert mentor.of_type("state")[-1]["peer_gone"] == "left"  # said goodbye


async def test_a_dropped_side_is_told_apart_from_one_that_left(
    site: Site, pair: tuple[CallParticipant, CallParticipant, int]
) -> None:
    mentor, mentee, booking_id = pair
    await mentor.join(booking_id)
    await mentee.join(booking_id)
    await wait_for(lambda: mentor.of_type("state")[-1]["peer"] == "joined", what="both in")
    assert mentor.of_type("state")[-1]["peer_gone"] is None
    await mentee.close()  # the tab closed or the network went: no goodbye
    await wait_for(lambda: mentor.of_type("state")[-1]["peer"] == "left", what="peer gone")
    assert mentor.of_type("state")[-1]["peer_gone"] == "dropped"  # it may come back


async def test_reload_rejoins_and_the_other_side_keeps_its_connection(
    site: Site,
    pair: tuple[CallParticipant, CallParticipant, int],
    video_clip: Clip,
    audio_clip: Clip,
) -> None:
    mentor, mentee, booking_id = pair
    await mentor.join(booking_id)
    await mentee.join(booking_id)
    await wait_for(lambda: mentor.video_frames() > 20, what="video")
    ends_at = [m for m in mentor.of_type("state") if m["ends_at"]][-1]["ends_at"]

    reloaded = CallParticipant(mentee.client, video_clip, audio_clip)
    try:
        await reloaded.join(booking_id)  # a new socket and peer for the same mentee
        assert await mentee.wait_closed() == 4000  # the old tab's socket is replaced
        seen = mentor.video_frames()
        await wait_for(
            lambda: reloaded.video_frames() > 30 and mentor.video_frames() > seen + 30,
            what="media again both ways",
        )
        assert reloaded.of_type("state")[-1]["ends_at"] == ends_at
        assert mentor.closed_with is None
    finally:
        await reloaded.close()


async def test_join_is_for_the_two_participants_only(site: Site) -> None:
    mentor_client, mentor_id = await site.user("m@example.org", "mentor")
    _mentee_client, mentee_id = await site.user("e@example.org", "mentee")
    other, _ = await site.user("x@example.org", "mentee")
    anonymous = await site.make_client(site.server)
    booking_id = await add_booking(mentor_client, mentor_id, mentee_id)

    assert (await anonymous.get(f"/api/bookings/{booking_id}/join")).status == 401
    stranger = await other.get(f"/api/bookings/{booking_id}/join")
    assert stranger.status == 404
    assert (await mentor_client.get("/api/bookings/99999/join")).status == 404
    unpaid = await add_booking(mentor_client, mentor_id, mentee_id, status="pending_payment")
    refused = await mentor_client.get(f"/api/bookings/{unpaid}/join")
    assert refused.status == 409
    assert (await refused.json())["error"]["code"] == "not_joinable"


async def test_the_socket_refuses_bad_tokens_strangers_and_other_sites(
    site: Site, video_clip: Clip, audio_clip: Clip
) -> None:
    mentor_client, mentor_id = await site.user("m@example.org", "mentor")
    _mentee_client, mentee_id = await site.user("e@example.org", "mentee")
    stranger, _ = await site.user("x@example.org", "mentee")
    booking_id = await add_booking(mentor_client, mentor_id, mentee_id)
    other_booking = await add_booking(mentor_client, mentor_id, mentee_id)
    token = (await (await mentor_client.get(f"/api/bookings/{booking_id}/join")).json())["token"]

    attempts = [
        (mentor_client, f"/ws/call/{booking_id}?token=forged.token", {}),
        (mentor_client, f"/ws/call/{booking_id}?token={token[:-4]}AAAA", {}),
        (mentor_client, f"/ws/call/{other_booking}?token={token}", {}),
        (stranger, f"/ws/call/{booking_id}?token={token}", {}),
        (mentor_client, f"/ws/call/{booking_id}?token={token}", {"Origin": "https://evil.example"}),
    ]
    for client, path, headers in attempts:
        with pytest.raises(WSServerHandshakeError) as refused:
            await client.ws_connect(path, headers=headers)
        assert refused.value.status in (403, 404), path


async def test_an_expired_token_is_refused(clocked_site: Site) -> None:
    assert clocked_site.clock is not None
    mentor_client, mentor_id = await clocked_site.user("m@example.org", "mentor")
    _c, mentee_id = await clocked_site.user("e@example.org", "mentee")
    booking_id = await add_booking(mentor_client, mentor_id, mentee_id)
    token = (await (await mentor_client.get(f"/api/bookings/{booking_id}/join")).json())["token"]
    await clocked_site.clock.advance(121)
    with pytest.raises(WSServerHandshakeError) as refused:
        await mentor_client.ws_connect(f"/ws/call/{booking_id}?token={token}")
    assert refused.value.status == 403


async def test_the_server_ends_the_call_on_time_and_refuses_rejoining(
    clocked_site: Site, video_clip: Clip, audio_clip: Clip
) -> None:
    clock = clocked_site.clock
    assert clock is not None
    mentor_client, mentee_client, booking_id = await clocked_site.booked_pair()
    mentor = CallParticipant(mentor_client, video_clip, audio_clip)
    mentee = CallParticipant(mentee_client, video_clip, audio_clip)
    try:
        await mentor.join(booking_id)
        await mentee.join(booking_id)
        await wait_for(lambda: any(m["ends_at"] for m in mentor.of_type("state")), what="start")
        await clock.advance(539)
        assert mentor.of_type("warning") == []
        await clock.advance(1)
        for side in (mentor, mentee):
            assert (await side.next_message("warning"))["remaining_ms"] == 60_000
        await clock.advance(60)
        for side in (mentor, mentee):
            assert (await side.next_message("ended"))["reason"] == "time_up"
            assert await side.wait_closed() == 1000
        calls = mentor_client.app[CALLS]  # type: ignore[index]
        await wait_for(lambda: calls.rooms.get(str(booking_id)) is None, what="room closed")
        async with calls.db.read() as s:
            booking = await s.get(Booking, booking_id)
        assert booking is not None
        assert (booking.status, booking.end_reason) == ("completed", "time_up")
        again = await mentee_client.get(f"/api/bookings/{booking_id}/join")
        assert again.status == 409
        assert (await again.json())["error"]["code"] == "call_ended"
    finally:
        await mentor.close()
        await mentee.close()


async def test_a_stopping_server_takes_no_new_joins(
    pair: tuple[CallParticipant, CallParticipant, int],
) -> None:
    mentor, _mentee, booking_id = pair
    info = await mentor.join_info(booking_id)
    await mentor.client.app[CALLS].shutdown()  # type: ignore[index]  # as on SIGTERM
    refused = await mentor.client.get(f"/api/bookings/{booking_id}/join")
    assert refused.status == 503
    assert refused.headers["Retry-After"] == "2"
    assert (await refused.json())["error"]["code"] == "server_restarting"
    socket = await mentor.client.get(URL(info["ws_url"]).path_qs)
    assert socket.status == 503  # the call socket too, even with a token from before


async def test_the_end_time_survives_a_server_restart(
    tmp_path: Path,
    aiohttp_server: Any,
    aiohttp_client: MakeClient,
    video_clip: Clip,
    audio_clip: Clip,
) -> None:
    first = await make_site(tmp_path, aiohttp_server, aiohttp_client, manual_clock=False)
    mentor_client, mentee_client, booking_id = await first.booked_pair()
    mentor = CallParticipant(mentor_client, video_clip, audio_clip)
    mentee = CallParticipant(mentee_client, video_clip, audio_clip)
    await mentor.join(booking_id)
    await mentee.join(booking_id)
    await wait_for(lambda: any(m["ends_at"] for m in mentor.of_type("state")), what="start")
    ends_at = [m for m in mentor.of_type("state") if m["ends_at"]][-1]["ends_at"]
    await first.server.close()  # the server stops: rooms close with server_shutdown
    assert (await mentor.next_message("ended"))["reason"] == "server_shutdown"
    await mentor.close()
    await mentee.close()

    second = await make_site(tmp_path, aiohttp_server, aiohttp_client, manual_clock=False)
    client = await second.make_client(second.server)
    await login(client, "m@example.org")
    rejoined = CallParticipant(client, video_clip, audio_clip)
    try:
        info = await rejoined.join_info(booking_id)
        assert info["ends_at"] == ends_at
        await rejoined.join(booking_id)
        assert rejoined.of_type("state")[-1]["ends_at"] == ends_at
    finally:
        await rejoined.close()
    calls = client.app[CALLS]  # type: ignore[index]
    async with calls.db.read() as s:
        rows = (await s.scalars(select(ChatLine))).all()
    assert rows == []


async def test_a_second_offer_on_the_same_socket_renegotiates_without_closing_it(
    pair: tuple[CallParticipant, CallParticipant, int], video_clip: Clip, audio_clip: Clip
) -> None:
    mentor, mentee, booking_id = pair
    await mentor.join(booking_id)
    await mentee.join(booking_id)
    await wait_for(lambda: mentee.video_frames() > 10, what="video")
    old_peer = mentee.peer  # the page rebuilds its peer connection on the same socket
    mentee.peer = TestPeer(video_clip, audio_clip)
    await mentee.send({"type": "offer", "sdp": await mentee.peer.offer()})
    await mentee.peer.accept((await mentee.next_message("answer"))["sdp"])
    await old_peer.close()
    await wait_for(lambda: mentee.video_frames() > 10, what="video on the new peer")
    await mentee.send({"type": "chat", "text": "still here"})
    assert (await mentor.next_message("chat"))["text"] == "still here"
    assert mentee.closed_with is None


async def test_the_dashboard_lists_joinable_calls(site: Site) -> None:
    mentor_client, mentor_id = await site.user("m@example.org", "mentor")
    mentee_client, mentee_id = await site.user("e@example.org", "mentee")
    booking_id = await add_booking(mentor_client, mentor_id, mentee_id)
    await add_booking(mentor_client, mentor_id, mentee_id, status="pending_payment")
    page = await (await mentee_client.get("/dashboard")).text()
    assert page.count('href="/call/') == 1
    assert f'href="/call/{booking_id}"' in page
    assert "M</strong>" in page  # the mentor's name
    mentor_page = await (await mentor_client.get("/dashboard")).text()
    assert f'href="/call/{booking_id}"' in mentor_page


async def test_a_mentor_who_never_came_is_a_no_show_of_the_mentor(
    clocked_site: Site, video_clip: Clip, audio_clip: Clip
) -> None:
    clock = clocked_site.clock
    assert clock is not None
    _mentor_client, mentee_client, booking_id = await clocked_site.booked_pair()
    mentee = CallParticipant(mentee_client, video_clip, audio_clip)
    calls = mentee_client.app[CALLS]  # type: ignore[index]
    try:
        await mentee.join(booking_id)
        assert mentee.of_type("state")[-1]["peer"] == "absent"  # waiting for the mentor
        await wait_for(lambda: mentee.peer.pc.connectionState == "connected", what="media")
        for _ in range(100):  # the server records the mentee's arrival
            async with calls.db.read() as s:
                if (await s.get(Booking, booking_id)).mentee_connected_at is not None:
                    break
            await asyncio.sleep(0.02)
        await clock.advance(600 + 301)  # past the booked end and the grace
        await calls.finish_overdue()  # the sweeper's round
        assert (await mentee.next_message("ended"))["reason"] == "time_up"
        await wait_for(lambda: calls.rooms.get(str(booking_id)) is None, what="room closed")
    finally:
        await mentee.close()
    async with calls.db.read() as s:
        booking = await s.get(Booking, booking_id)
    assert booking is not None
    assert (booking.status, booking.no_show_role) == ("no_show", "mentor")
    assert booking.mentee_connected_at is not None and booking.mentor_connected_at is None
