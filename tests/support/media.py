"""Real aiortc peers for tests and benchmarks: pre-encoded VP8 and Opus, sent at real pace.

The clips are encoded once with PyAV. `ReplayTrack` sends them in a loop with timestamps that
keep rising (aiortc's MediaPlayer restarts them at every loop, see ARCHITECTURE.md pitfalls).
`TestPeer` taps its receivers with the same glue the SFU uses, so it sees encoded frames, and no
decoder runs in the test process either.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from media import participant as participant_module
from media.aiortc_glue import (
    adopt_receiver,
    install_fast_receive,
    listen_for_estimates,
    listen_for_keyframe_requests,
    restrict_host_addresses,
)
from media.events import Role
from media.frames import AudioAssembler, EncodedFrame, VideoAssembler
from media.room import Room
from media.rtp import LeanPacket, parse_rtp

LOOPBACK = ("127.0.0.1",)
# aiortc's default configuration asks Google's STUN server; tests talk to nothing outside.
NO_ICE_SERVERS = RTCConfiguration(iceServers=[])


@dataclass(frozen=True)
class Clip:
    kind: str
    payloads: list[bytes]
    keyframes: list[bool]
    step: int  # RTP ticks per frame
    clock_rate: int

    @property
    def interval(self) -> float:
        return self.step / self.clock_rate


def encode_vp8(
    seconds: float = 4,
    fps: int = 30,
    width: int = 320,
    height: int = 240,
    kbps: int = 700,
    gop: int = 30,
) -> Clip:
    """A noisy moving picture: noise keeps the encoder at its target bitrate."""
    ctx = av.CodecContext.create("libvpx", "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base = Fraction(1, fps)
    ctx.framerate = Fraction(fps, 1)
    ctx.bit_rate = kbps * 1000
    ctx.gop_size = gop
    ctx.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "end-usage": "cbr",
        "qmin": "4",
        "qmax": "56",
    }
    payloads: list[bytes] = []
    keyframes: list[bool] = []
    frames = int(seconds * fps)
    for i in range(frames + 1):
        packets = ctx.encode(None if i == frames else _video_frame(i, width, height))
        for packet in packets:
            payloads.append(bytes(packet))
            keyframes.append(bool(packet.is_keyframe))
    return Clip("video", payloads, keyframes, 90000 // fps, 90000)


def _video_frame(i: int, width: int, height: int) -> av.VideoFrame:
    frame = av.VideoFrame(width, height, "yuv420p")
    # Noise in a quarter of the picture, flat grey elsewhere, and a moving bar.
    noise = bytes(96 + (b & 0x1F) for b in os.urandom(width * height // 4))
    luma = bytearray(noise) + bytearray([96]) * (width * height * 3 // 4)
    bar = (i * 4) % width
    for row in range(0, height, 2):
        start = row * width + bar
        luma[start : start + 8] = b"\xff" * 8
    frame.planes[0].update(bytes(luma[: frame.planes[0].buffer_size]))
    frame.planes[1].update(bytes([128]) * frame.planes[1].buffer_size)
    frame.planes[2].update(bytes([(i * 3) % 256]) * frame.planes[2].buffer_size)
    frame.pts = i
    return frame


def encode_opus(seconds: float = 4) -> Clip:
    ctx = av.CodecContext.create("libopus", "w")
    ctx.sample_rate = 48000
    ctx.layout = "mono"
    ctx.format = "s16"
    ctx.bit_rate = 32000
    payloads: list[bytes] = []
    frames = int(seconds * 50)
    tone = bytes(
        int(8000 * ((n // 24) % 2 * 2 - 1)).to_bytes(2, "little", signed=True)[0]
        for n in range(1920)
    )
    for i in range(frames + 1):
        if i == frames:
            packets = ctx.encode(None)
        else:
            frame = av.AudioFrame(format="s16", layout="mono", samples=960)
            frame.planes[0].update(tone)
            frame.sample_rate = 48000
            frame.pts = i * 960
            packets = ctx.encode(frame)
        payloads.extend(bytes(p) for p in packets)
    return Clip("audio", payloads, [True] * len(payloads), 960, 48000)


class ReplayTrack(MediaStreamTrack):
    """Sends a clip at its real pace, looping, with RTP timestamps that keep rising."""

    def __init__(self, clip: Clip) -> None:
        super().__init__()
        self.kind = clip.kind
        self.clip = clip
        self.sent = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.sent * self.clip.interval
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        payload = self.clip.payloads[self.sent % len(self.clip.payloads)]
        packet = av.Packet(payload)
        packet.pts = self.sent * self.clip.step
        packet.time_base = Fraction(1, self.clip.clock_rate)
        self.sent += 1
        return packet


@dataclass
class Received:
    frames: list[EncodedFrame] = field(default_factory=list)

    def add(self, frame: EncodedFrame) -> None:
        self.frames.append(frame)


class TestPeer:
    """A browser stand-in: one audio and one video transceiver, sendrecv, on loopback only."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        video: Clip,
        audio: Clip,
        configuration: RTCConfiguration | None = None,
        keep_packets: bool = False,
    ) -> None:
        self.pc = RTCPeerConnection(configuration or NO_ICE_SERVERS)
        self.tracks = {"video": ReplayTrack(video), "audio": ReplayTrack(audio)}
        self.received = {"video": Received(), "audio": Received()}
        # With keep_packets, every RTP packet received (RTX unwrapped), by kind, in order.
        self.packets: dict[str, list[LeanPacket]] = {"video": [], "audio": []}
        for kind in ("audio", "video"):
            transceiver = self.pc.addTransceiver(self.tracks[kind], direction="sendrecv")
            assembler = (VideoAssembler if kind == "video" else AudioAssembler)(
                self.received[kind].add
            )
            sink = _keeping(self.packets[kind], assembler.add) if keep_packets else assembler.add
            adopt_receiver(transceiver.receiver, kind, sink)

    async def offer(self) -> str:
        restrict_host_addresses(self.pc, LOOPBACK)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        install_fast_receive(self.pc)  # the transports are bundled and final now

    async def close(self) -> None:
        for track in self.tracks.values():
            track.stop()
        await self.pc.close()


def _keeping(
    kept: list[LeanPacket], sink: Callable[[LeanPacket], bool]
) -> Callable[[LeanPacket], bool]:
    def keep(packet: LeanPacket) -> bool:
        kept.append(packet)
        return sink(packet)

    return keep


def record_sent_rtp(peer: TestPeer) -> list[LeanPacket]:
    """Every RTP packet `peer` sends from now on, as it leaves aiortc (before encryption).
    Call once the peer accepted its answer (the transports are final then)."""
    sent: list[LeanPacket] = []
    transports = {id(t.sender.transport): t.sender.transport for t in peer.pc.getTransceivers()}
    for dtls in transports.values():

        async def send_rtp(data: bytes, _stock: Any = dtls._send_rtp) -> None:
            packet = parse_rtp(data)
            if packet is not None:
                sent.append(packet)
            await _stock(data)

        dtls._send_rtp = send_rtp
    return sent


async def wait_for(condition: Callable[[], bool], seconds: float = 15, what: str = "") -> None:
    """Polls `condition` until it holds; fails the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting{': ' + what if what else ''}")
        await asyncio.sleep(0.05)


def count_keyframe_requests(peer: TestPeer) -> list[int]:
    """Counts PLI/FIR that reach `peer`'s video sender (a real browser would send a keyframe)."""
    counter = [0]
    for transceiver in peer.pc.getTransceivers():
        if transceiver.kind == "video":

            def bump() -> None:
                counter[0] += 1

            listen_for_keyframe_requests(transceiver.sender, bump)
    return counter


async def join_room(room: Room, role: Role, peer: TestPeer) -> None:
    """Negotiates `peer` into `room` directly, the way the call socket does."""
    _participant, answer = await room.join(role, await peer.offer())
    await peer.accept(answer)


def selected_candidate_type(peer: TestPeer) -> str | None:
    """The type (host, srflx, relay) of the local candidate the peer's ICE pair uses."""
    for transceiver in peer.pc.getTransceivers():
        pair = transceiver.receiver.transport.transport._connection._nominated.get(1)
        if pair is not None:
            kind: str = pair.local_candidate.type
            return kind
    return None


def record_estimates(peer: TestPeer) -> list[int]:
    """The REMB bitrates that reach `peer`'s video sender."""
    seen: list[int] = []
    for transceiver in peer.pc.getTransceivers():
        if transceiver.kind == "video":
            listen_for_estimates(transceiver.sender, seen.append)
    return seen


class PeerConnections:
    """The SFU's peer connections made while tracking (weakly held): how many are still open."""

    def __init__(self) -> None:
        self.made: weakref.WeakSet[RTCPeerConnection] = weakref.WeakSet()

    def open(self) -> int:
        return sum(1 for pc in list(self.made) if pc.connectionState != "closed")


@contextlib.contextmanager
def tracked_peer_connections() -> Iterator[PeerConnections]:
    """Counts the peer connections media.participant makes, without scanning the heap."""
    tracker = PeerConnections()
    original = participant_module.RTCPeerConnection

    class Tracked(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            tracker.made.add(self)

    participant_module.RTCPeerConnection = Tracked
    try:
        yield tracker
    finally:
        participant_module.RTCPeerConnection = original
