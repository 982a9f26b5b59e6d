"""Two server processes on one PostgreSQL: a call joined through both lives on one node, and
two first joins at once agree on it."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.cluster.nodes import (
    SECRET,
    NodeProcess,
    Side,
    demo_call,
    join,
    node,
    running,
)
from tests.support.media import Clip, TestPeer, wait_for
from tests.support.postgres import fresh_database, postgres_bin

pytestmark = pytest.mark.skipif(
    postgres_bin() is None, reason="PostgreSQL is not installed (make test installs it)"
)


@pytest.fixture
async def two_nodes(postgres: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    url = await fresh_database(postgres)
    extra = getattr(request, "param", {})
    a = node(tmp_path, "node-a", url, (42000, 42199), **extra)
    b = node(tmp_path, "node-b", url, (42200, 42399), **extra)
    with running(a, b):
        a.start()
        await a.serving()  # it migrates the database; then the second
        b.start()
        await b.serving()
        yield a, b
    for each in (a, b):
        text = each.log.read_text(errors="replace")
        assert "Traceback" not in text, text[-5000:]


async def test_a_call_joined_through_two_nodes_lives_on_one(
    two_nodes: tuple[NodeProcess, NodeProcess], video_clip: Clip, audio_clip: Clip
) -> None:
    a, b = two_nodes
    demo = demo_call(a)
    mentor = await Side.log_in(a.base, demo["urls"]["mentor"])
    mentee = await Side.log_in(b.base, demo["urls"]["mentee"])
    peers = [TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)]
    try:
        first = await join(mentor, demo["booking_id"], peers[0])
        second = await join(mentee, demo["booking_id"], peers[1])
        assert first["node"] == second["node"] == "node-a"  # placed by the first join, on A
        assert second["ws_url"].startswith(a.base.replace("http", "ws"))  # B sent it to A
        assert "node=node-a" in second["ws_url"]
        await wait_for(
            lambda: all(len(p.received["video"].frames) > 30 for p in peers),
            what="each side's video from the other, through node A",
        )
        assert all(len(p.received["audio"].frames) > 30 for p in peers)
    finally:
        for each in (mentor, mentee):
            await each.close()
        for peer in peers:
            await peer.close()


async def test_a_socket_on_the_wrong_node_is_refused(
    two_nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    a, b = two_nodes
    demo = demo_call(a)
    mentor = await Side.log_in(a.base, demo["urls"]["mentor"])
    try:
        info = await mentor.join_info(demo["booking_id"])
        assert info["node"] == "node-a"
        wrong = info["ws_url"].replace(a.base.split(":")[-1], b.base.split(":")[-1], 1)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await mentor.session.ws_connect(wrong)
        assert refused.value.status == 409
    finally:
        await mentor.close()


async def test_simultaneous_first_joins_through_both_nodes_agree(
    two_nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    a, b = two_nodes
    demos = [demo_call(a)]
    mentor = await Side.log_in(a.base, demos[0]["urls"]["mentor"])
    mentee = await Side.log_in(b.base, demos[0]["urls"]["mentee"])
    try:
        bookings = [demos[0]["booking_id"], *await more_demo_bookings(a, 49)]
        placed: dict[str, int] = {}
        for booking_id in bookings:
            one, other = await asyncio.gather(
                mentor.join_info(booking_id), mentee.join_info(booking_id)
            )
            assert one["node"] == other["node"], (booking_id, one["node"], other["node"])
            placed[one["node"]] = placed.get(one["node"], 0) + 1
        assert sum(placed.values()) == 50
        assert set(placed) == {"node-a", "node-b"}, placed  # least loaded: both get calls
    finally:
        await mentor.close()
        await mentee.close()


async def more_demo_bookings(at: NodeProcess, count: int) -> list[int]:
    """More demo calls between the same two demo users, made in this process (one CLI start
    each would take a second)."""
    from server.accounts.passwords import Passwords
    from server.accounts.service import Accounts
    from server.calls.demo import create_demo_call
    from server.clock import utc_now
    from server.config import load_config
    from server.db.engine import Database
    from server.keys import derive

    config = load_config(None, at.env)
    db = Database(config.database_url)
    try:
        accounts = Accounts(db, Passwords(), config.auth, utc_now)
        key = derive(SECRET, "demo login")
        return [(await create_demo_call(accounts, config, key)).booking_id for _ in range(count)]
    finally:
        await db.close()


CALL_SECONDS = 25
TIMEOUT_SECONDS = 3


@pytest.mark.parametrize(
    "two_nodes",
    [
        {
            "MICROMENTOR_CLUSTER_NODE_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
            "MICROMENTOR_CALLS_DURATION_SECONDS": str(CALL_SECONDS),
            "MICROMENTOR_CALLS_WARNING_SECONDS": "5",
            "MICROMENTOR_CALLS_MIN_COMPLETED_SECONDS": "10",
        }
    ],
    indirect=True,
)
async def test_the_call_moves_when_its_node_is_killed_and_ends_on_time(
    two_nodes: tuple[NodeProcess, NodeProcess], video_clip: Clip, audio_clip: Clip
) -> None:
    a, b = two_nodes
    demo = demo_call(a)
    booking_id = demo["booking_id"]
    sides = [  # the mentor's first join comes through A, so the call lives there
        await Side.log_in(a.base, demo["urls"]["mentor"]),
        await Side.log_in(b.base, demo["urls"]["mentee"]),
    ]
    peers = [TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)]
    messages: list[list[dict[str, Any]]] = [[], []]
    try:
        for side, peer, seen in zip(sides, peers, messages, strict=True):
            assert (await join(side, booking_id, peer, seen))["node"] == "node-a"
        await wait_for(lambda: all(len(p.received["video"].frames) > 10 for p in peers))
        await wait_for(lambda: any(m.get("ends_at") for m in messages[0] if m["type"] == "state"))
        ends_at = next(m["ends_at"] for m in messages[0] if m.get("ends_at"))

        a.kill()  # SIGKILL: no goodbye, no heartbeat any more
        killed_at = time.monotonic()
        for side in sides:
            side.base = b.base  # what the front does when a node stops answering
        for peer in peers:
            await peer.close()
        peers = [TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)]
        messages = [[], []]
        for side, peer, seen in zip(sides, peers, messages, strict=True):
            info = await rejoin(side, booking_id, peer, seen)
            assert info["node"] == "node-b"
        await wait_for(
            lambda: all(len(p.received["video"].frames) > 10 for p in peers),
            what="media again through node B",
        )
        assert time.monotonic() - killed_at <= TIMEOUT_SECONDS + 15
        await wait_for(
            lambda: all(any(m["type"] == "ended" for m in seen) for seen in messages),
            seconds=CALL_SECONDS + 15,
            what="the call's end",
        )
        ended = [next(m for m in seen if m["type"] == "ended") for seen in messages]
        assert [m["reason"] for m in ended] == ["time_up", "time_up"]
        assert abs(datetime.fromisoformat(ends_at).timestamp() - time.time()) <= 3
        assert (await sides[1].join_info_status(booking_id)) == 409  # over, on any node
    finally:
        for side in sides:
            await side.close()
        for peer in peers:
            await peer.close()


async def rejoin(
    side: Side, booking_id: int, peer: TestPeer, seen: list[dict[str, Any]]
) -> dict[str, Any]:
    """Joins again as the page does after its socket dropped: until the join details name a
    live node (the dead one's heartbeat must time out first) and its socket takes the offer."""
    deadline = time.monotonic() + TIMEOUT_SECONDS + 15
    while True:
        try:
            return await join(side, booking_id, peer, seen)
        except (aiohttp.ClientError, AssertionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
