"""A participant's own peer connection sending mutated media: SRTP that authenticates (the
plaintext was mangled before it was protected) and SRTP mangled after. A call between two other
clients keeps its frames flowing, nothing raises or logs a traceback, the drops are counted, and
the mangler's own call goes on."""

from __future__ import annotations

import asyncio
import logging
import random
import struct
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from media.ports.guard import DROPPED
from media.room import Room, RoomOptions
from tests.support.media import Clip, TestPeer, join_room, wait_for

FUZZ_SECONDS = 5.0
FUZZ_PER_SECOND = 2_000
SSRC_POOL = [random.Random(7).getrandbits(32) for _ in range(16)]
EXTRA_SSRCS = SSRC_POOL[:4]


def an_hour(start: datetime) -> datetime:
    return start + timedelta(hours=1)


def mutate(rng: random.Random, packet: bytes) -> bytes:
    """One RTP or RTCP packet mangled the way a buggy or hostile client might."""
    data = bytearray(packet)
    how = rng.randrange(9)
    if how == 0:  # bits flipped anywhere past the sequence number
        for _ in range(rng.randrange(1, 9)):
            i = rng.randrange(4, len(data))
            data[i] ^= 1 << rng.randrange(8)
    elif how == 1:  # cut short
        del data[rng.randrange(2, len(data)) :]
    elif how == 2:  # a CSRC count the packet does not have
        data[0] = (data[0] & 0xF0) | rng.randrange(16)
    elif how == 3 and len(data) >= 16:  # an extension whose length runs past the end
        data[0] |= 0x10
        cc = (data[0] & 0x0F) * 4
        at = 12 + cc
        if len(data) >= at + 4:
            data[at : at + 4] = struct.pack("!HH", rng.choice((0xBEDE, 0x1000, 0)), 0xFFFF)
    elif how == 4:  # padding longer than the packet
        data[0] |= 0x20
        data[-1] = rng.randrange(256)
    elif how == 5:  # another payload: random bytes where the VP8 or Opus payload was
        head = min(len(data), 12 + (data[0] & 0x0F) * 4)
        data[head:] = rng.randbytes(rng.randrange(0, 1200))
    elif how == 6:  # another stream: an SSRC nobody negotiated, at any sequence number (on
        # the peer's own SSRC, a jump past SRTP's replay window would stop its own media)
        data[2:4] = rng.randbytes(2)
        ssrc = rng.choice(SSRC_POOL) if rng.random() < 0.9 else rng.getrandbits(32)
        data[8:12] = ssrc.to_bytes(4, "big")
    elif how == 7:  # any payload type, marker or not
        data[1] = rng.randrange(256)
    else:  # random bytes after a plausible first byte
        data[1:] = rng.randbytes(rng.randrange(1, 1400))
    if rng.random() < 0.9:
        data[0] = 0x80 | (data[0] & 0x3F)  # still version 2, so it gets past the first look
    return bytes(data)


class Mangler:
    """Sends, on `peer`'s own peer connection beside its media, mangled copies of the RTP and
    RTCP it sends, at FUZZ_PER_SECOND: protected after mangling (so they authenticate), and a
    tenth of them mangled again after protection (so they do not)."""

    def __init__(self, peer: TestPeer, rng: random.Random) -> None:
        self.rng = rng
        self.recent: deque[bytes] = deque(maxlen=64)
        self.sent = 0
        self.unprotectable = 0
        self.numbers: dict[int, int] = {}
        self.dtls: Any = peer.pc.getTransceivers()[0].sender.transport
        self.stock: Callable[[bytes], Any] = self.dtls._send_rtp
        self.dtls._send_rtp = self.send

    async def send(self, data: bytes) -> None:
        """The peer's own packets go out untouched; the latest are kept to be mangled."""
        self.recent.append(data)
        await self.stock(data)

    async def one(self) -> None:
        data = self.rng.choice(self.recent)
        if not 191 < data[1] < 224 and self.rng.random() < 0.7:
            # On an SSRC of its own with fresh numbers, so that it gets past SRTP's replay
            # check into the parsers and the forwarder (a copy's own number is a replay).
            ssrc = self.rng.choice(EXTRA_SSRCS)
            self.numbers[ssrc] = (self.numbers.get(ssrc, 0) + 1) % 65536
            data = (
                data[:2]
                + struct.pack("!H", self.numbers[ssrc])
                + data[4:8]
                + (struct.pack("!I", ssrc) + data[12:])
            )
        data = mutate(self.rng, data)
        srtp = self.dtls._tx_srtp
        rtcp = 191 < data[1] < 224 and len(data) >= 8
        try:
            protected = srtp.protect_rtcp(data) if rtcp else srtp.protect(data)
        except Exception:  # libsrtp will not protect some of it (a bad header): not sent
            self.unprotectable += 1
            return
        if self.rng.random() < 0.1:  # mangled after protection: authentication fails
            flipped = bytearray(protected)
            flipped[self.rng.randrange(12, len(flipped))] ^= 0xFF
            protected = bytes(flipped)
        await self.dtls.transport._send(protected)
        self.sent += 1

    async def run(self, seconds: float) -> None:
        await wait_for(lambda: len(self.recent) >= 16, what="packets to mangle")
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            for _ in range(FUZZ_PER_SECOND // 100):
                await self.one()
            await asyncio.sleep(0.01)


async def test_mutated_srtp_from_a_participant_leaves_the_other_call_flowing(
    video_clip: Clip,
    audio_clip: Clip,
    room_options: RoomOptions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calm = Room("booking-calm", end_time_for=an_hour, options=room_options)
    noisy = Room("booking-noisy", end_time_for=an_hour, options=room_options)
    mentor, mentee = TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)
    mangler_peer, partner = TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)
    peers = (mentor, mentee, mangler_peer, partner)
    try:
        await join_room(calm, "mentor", mentor)
        await join_room(calm, "mentee", mentee)
        await join_room(noisy, "mentor", mangler_peer)
        await join_room(noisy, "mentee", partner)
        await wait_for(lambda: all(len(p.received["video"].frames) >= 30 for p in peers))
        mangler = Mangler(mangler_peer, random.Random(19))
        caplog.clear()
        caplog.set_level(logging.INFO)
        before = dict(DROPPED.counts)
        frames_before = [len(p.received["video"].frames) for p in (mentor, mentee)]
        started = asyncio.get_running_loop().time()
        await mangler.run(FUZZ_SECONDS)
        seconds = asyncio.get_running_loop().time() - started
        rates = [
            (len(p.received["video"].frames) - b) / seconds
            for p, b in zip((mentor, mentee), frames_before, strict=True)
        ]
        after_fuzz = len(partner.received["video"].frames)
        # The mangler's own call goes on: its partner gets its video (at a keyframe).
        await wait_for(
            lambda: len(partner.received["video"].frames) >= after_fuzz + 30,
            what="the mangler's video after the fuzz",
        )
    finally:
        for room in (calm, noisy):  # a room that cannot close would never settle its call
            await asyncio.wait_for(room.close("left"), timeout=10)
        for peer in peers:
            await peer.close()

    dropped = {r: n - before.get(r, 0) for r, n in DROPPED.counts.items()}
    # As many as the loop gets through beside four peers and the SFU: ~1,000 a second here.
    assert mangler.sent >= 2_000, mangler.sent
    assert dropped.get("srtp_rejected", 0) > 200, dropped  # mangled after protection, replays
    assert dropped.get("unknown_ssrc", 0) > 100, dropped  # SSRCs past the cap
    assert all(rate >= 24 for rate in rates), rates
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, tracebacks[0].getMessage()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors[:5]]
