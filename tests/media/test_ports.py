"""The SFU's UDP ports under junk: a live call keeps flowing while malformed datagrams of every
kind arrive at its ports; each is dropped early, counted by reason, and never logs a traceback."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.ports.guard import DROPPED, stun_drop_reason, stun_header_holds
from media.room import Room, RoomOptions
from tests.support.media import Clip, TestPeer, join_room, wait_for

STUN_MAGIC = 0x2112A442
# The datagram aioice 0.13 raises struct.error on: a binding request whose ICE-CONTROLLING
# attribute says 4 bytes (it has 8), in 24 bytes.
BAD_ICE_CONTROLLING = struct.pack("!HHI12sHH", 0x0001, 4, STUN_MAGIC, b"\x01" * 12, 0x802A, 4)


def an_hour(start: datetime) -> datetime:
    return start + timedelta(hours=1)


def sfu_ports(room: Room) -> list[tuple[str, int]]:
    """The host sockets of the SFU's peer connections in `room`."""
    found = []
    for participant in room.participants.values():
        for transceiver in participant.pc.getTransceivers()[:1]:
            connection = transceiver.receiver.transport.transport._connection
            for protocol in connection._protocols:
                candidate = protocol.local_candidate
                found.append((candidate.host, candidate.port))
    return found


def own_socket(peer: TestPeer) -> Callable[[bytes, tuple[str, int]], None]:
    """Sends from `peer`'s own ICE socket: junk from the address the SFU has chosen."""
    transceiver = peer.pc.getTransceivers()[0]
    pair = transceiver.receiver.transport.transport._connection._nominated[1]
    transport: Any = pair.protocol.transport
    return lambda data, address: transport.sendto(data, address)


def stun(rng: random.Random) -> bytes:
    """A STUN header that holds together, then random attributes."""
    body = rng.randbytes(4 * rng.randrange(0, 16))
    return struct.pack("!HHI", rng.choice((1, 0x101, 0x111, 0x11)), len(body), STUN_MAGIC) + (
        rng.randbytes(12) + body
    )


def starting(first: Callable[[random.Random], list[int]], low: int, high: int) -> Any:
    """Random datagrams whose first bytes `first` makes, then low..high random bytes."""
    return lambda rng: bytes(first(rng)) + rng.randbytes(rng.randrange(low, high))


def stun_or_not(rng: random.Random) -> bytes:
    return stun(rng) if rng.random() < 0.8 else starting(lambda r: [r.randrange(4)], 0, 200)(rng)


KINDS: dict[str, Callable[[random.Random], bytes]] = {
    "stun": stun_or_not,
    "dtls": starting(lambda r: [r.choice((20, 21, 22, 23))], 12, 300),
    "rtp": starting(lambda r: [0x80 | r.randrange(0x40), r.randrange(128)], 10, 1200),
    "rtcp": starting(lambda r: [0x80 | r.randrange(32), r.randrange(192, 209)], 6, 200),
    "random": lambda rng: rng.randbytes(rng.randrange(1, 1400)),
}


def test_the_stun_regression_packet_is_what_it_says() -> None:
    assert len(BAD_ICE_CONTROLLING) == 24 and stun_header_holds(BAD_ICE_CONTROLLING)


async def test_junk_of_every_kind_is_dropped_and_counted_while_the_call_flows(
    video_clip: Clip,
    audio_clip: Clip,
    room_options: RoomOptions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    room = Room("booking-junk", end_time_for=an_hour, options=room_options)
    mentor, mentee = TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)
    rng = random.Random(19)
    junk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    junk.setblocking(False)
    try:
        await join_room(room, "mentor", mentor)
        await join_room(room, "mentee", mentee)
        await wait_for(lambda: all(len(p.received["video"].frames) >= 30 for p in (mentor, mentee)))
        ports = sfu_ports(room)
        from_the_peer = own_socket(mentor)
        mentor_port = sfu_ports(room)[0]
        caplog.clear()
        caplog.set_level(logging.INFO)
        before = dict(DROPPED.counts)
        frames_before = [len(p.received["video"].frames) for p in (mentor, mentee)]
        started = asyncio.get_running_loop().time()

        sent = 0
        for _ in range(3):  # the regression datagram, from a stranger and from the peer
            for address in ports:
                junk.sendto(BAD_ICE_CONTROLLING, address)
                from_the_peer(BAD_ICE_CONTROLLING, mentor_port)
                sent += 2
        for kind, make in KINDS.items():
            for n in range(10_000):
                data = make(rng)
                if kind == "rtp" and n % 2:  # half of it from the peer's own address: SRTP
                    from_the_peer(data, mentor_port)
                else:
                    junk.sendto(data, ports[n % len(ports)])
                sent += 1
                if n % 100 == 99:
                    await asyncio.sleep(0.005)  # ~20,000 a second: what the socket buffer takes
        await asyncio.sleep(0.5)
        seconds = asyncio.get_running_loop().time() - started
        rates = [
            (len(p.received["video"].frames) - b) / seconds
            for p, b in zip((mentor, mentee), frames_before, strict=True)
        ]
    finally:
        junk.close()
        await room.close("left")
        await mentor.close()
        await mentee.close()

    dropped = {r: n - before.get(r, 0) for r, n in DROPPED.counts.items()}
    assert sum(dropped.values()) >= 0.9 * sent, (dropped, sent)
    assert dropped.get("media_unknown_source", 0) > 5_000
    assert dropped.get("srtp_rejected", 0) > 4_000  # the peer's own address: SRTP says no
    assert sum(n for r, n in dropped.items() if r.startswith("stun_")) > 9_000
    assert dropped.get("dtls_unknown_source", 0) > 5_000
    assert all(rate >= 24 for rate in rates), rates  # the call went on at ~30 frames a second
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, tracebacks[0].getMessage()
    summaries = [r for r in caplog.records if r.name == "micromentor.media.ports"]
    assert len(summaries) <= 2, [r.getMessage() for r in summaries]


@given(st.binary(max_size=120), st.booleans())
def test_the_stun_check_never_raises(data: bytes, with_header: bool) -> None:
    if with_header:  # past the header check, into the attribute walk
        data = struct.pack("!HHI", 1, len(data) // 4 * 4, STUN_MAGIC) + bytes(12) + data
        data = data[: 20 + len(data[20:]) // 4 * 4]
    reason = stun_drop_reason(data, b"ufrg:", {})
    assert reason is None or reason.startswith("stun_")
