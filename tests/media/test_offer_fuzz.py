"""Offers mutated from a real one never get past media/ as anything but a clear SdpError, and
leave no task, peer connection or traceback behind (issue 13, item 7)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.room import Room, RoomOptions
from media.sdp import SdpError
from tests.support.fuzz import fuzz_settings, mutated_offer
from tests.support.media import (
    LOOPBACK,
    TestPeer,
    encode_opus,
    encode_vp8,
    tracked_peer_connections,
)
from tests.support.server_thread import ErrorLog


async def make_offer() -> str:
    peer = TestPeer(encode_vp8(seconds=0.2), encode_opus(seconds=0.2))
    try:
        return await peer.offer()
    finally:
        await peer.close()


REAL_OFFER = asyncio.run(make_offer())


async def try_offer(sdp: str) -> str:
    """Joins a fresh room with `sdp`; "accepted" or "refused", after cleaning everything up."""
    tasks_before = len(asyncio.all_tasks())
    room = Room(
        "fuzz",
        end_time_for=lambda at: at + timedelta(minutes=10),
        options=RoomOptions(ice_addresses=LOOPBACK),
    )
    try:
        await room.join("mentee", sdp)
        outcome = "accepted"
    except SdpError as exc:
        assert str(exc), "an SdpError must say why"
        outcome = "refused"
    await room.close("left")
    for _ in range(40):  # aiortc's own tasks finish a little after close()
        if len(asyncio.all_tasks()) <= tasks_before:
            break
        await asyncio.sleep(0.05)
    assert len(asyncio.all_tasks()) <= tasks_before, "a task outlived the room"
    return outcome


@pytest.mark.slow
@fuzz_settings(200)
@given(st.data())
def test_mutated_offers_are_refused_cleanly_or_answered(data: st.DataObject) -> None:
    sdp = data.draw(mutated_offer(REAL_OFFER))
    with ErrorLog() as errors, tracked_peer_connections() as connections:
        asyncio.run(try_offer(sdp))
    assert errors.records == [], [r.getMessage() for r in errors.records]
    assert connections.open() == 0, "a peer connection outlived its room"


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda s: s.replace("a=sendrecv\r\n", "", 1), "must be sendrecv"),
        (lambda s: s.replace("a=mid:0\r\n", "", 1), "lacks a=mid"),
        (lambda s: s.replace("a=mid:1", "a=mid:0"), "share a=mid"),
        (
            lambda s: "\r\n".join(x for x in s.split("\r\n") if "fingerprint" not in x),
            "DTLS fingerprint",
        ),
        (lambda s: s.replace("a=mid:0", "a=mid:00"), "BUNDLE"),
    ],
    ids=["no-sendrecv", "no-mid", "duplicate-mid", "no-fingerprint", "bundle-mismatch"],
)
def test_the_offers_the_probe_found_are_refused_by_name(
    edit: Callable[[str], str], reason: str
) -> None:
    with ErrorLog() as errors, pytest.raises(SdpError, match=reason):
        asyncio.run(_join(edit(REAL_OFFER)))
    assert errors.records == []


async def _join(sdp: str) -> None:
    room = Room("probe", end_time_for=lambda at: at + timedelta(minutes=10))
    try:
        await room.join("mentee", sdp)
    finally:
        await room.close("left")


def test_the_real_offer_is_answered() -> None:
    assert asyncio.run(try_offer(REAL_OFFER)) == "accepted"


logging.getLogger("aioice").setLevel(logging.WARNING)
