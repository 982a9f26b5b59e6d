"""The bench's callers: tests/support/media.py's TestPeer, on the address the bench says, with a
video sender that answers keyframe requests (a browser does) and receivers that only count.

A call's receivers are what the measurements read: per receiving side, frames of video and
audio (one Opus packet is one frame) and video bytes. `MicromentorCall` joins the real
server through its call socket, `RelayCall` the MediaRelay baseline (bench/relay_server.py);
bench/janus.py has the Janus side.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import av
from aiortc import RTCSessionDescription

from media.aiortc_glue import (
    install_fast_receive,
    listen_for_keyframe_requests,
    restrict_host_addresses,
)
from tests.support.media import Clip, ReplayTrack, TestPeer

ROLES = ("mentor", "mentee")
KINDS = ("video", "audio")


class Tally:
    """Stands in for a TestPeer's list of received frames: counts them and keeps none (a
    capacity run would otherwise hold every frame of every stream). It also adds up the media
    time the frames' RTP timestamps cover, so a rate over media time tells frames lost from
    frames merely late (a receiver's own process lagging behind its socket)."""

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.frames = 0
        self.octets = 0
        self.media_seconds = 0.0
        self.first_at: float | None = None  # monotonic
        self._last_timestamp: int | None = None

    def append(self, frame: Any) -> None:
        if self.first_at is None:
            self.first_at = time.monotonic()
        self.frames += 1
        self.octets += len(frame.data)
        if self._last_timestamp is not None:
            step = (frame.timestamp - self._last_timestamp) % 2**32
            if step < 2**31:  # forward (a retransmitted older frame adds no time)
                self.media_seconds += step / self.clock_rate
        self._last_timestamp = frame.timestamp


Receiver = dict[str, Tally]  # kind -> what one side received


class KeyframeReplay(ReplayTrack):
    """A ReplayTrack that jumps to the clip's next keyframe when the far end asks for one."""

    def __init__(self, clip: Clip) -> None:
        super().__init__(clip)
        self.position = 0
        self.keyframe_wanted = False

    def want_keyframe(self) -> None:
        self.keyframe_wanted = True

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        # ReplayTrack.recv, with the clip's position apart from the count that paces it.
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self.sent * self.clip.interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if self.keyframe_wanted:
            self.keyframe_wanted = False
            while not self.clip.keyframes[self.position % len(self.clip.keyframes)]:
                self.position += 1
        packet = av.Packet(self.clip.payloads[self.position % len(self.clip.payloads)])
        packet.pts = self.sent * self.clip.step
        packet.time_base = Fraction(1, self.clip.clock_rate)
        self.position += 1
        self.sent += 1
        return packet


class BenchPeer(TestPeer):
    """A TestPeer gathering ICE on `addresses` only, counting what it receives."""

    def __init__(self, video: Clip, audio: Clip, addresses: tuple[str, ...]) -> None:
        super().__init__(video, audio)
        self.addresses = addresses
        self.receiver: Receiver = {
            "video": Tally(video.clock_rate),
            "audio": Tally(audio.clock_rate),
        }
        for kind in KINDS:
            self.received[kind].frames = self.receiver[kind]  # type: ignore[assignment]
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "video":
                track = KeyframeReplay(video)
                self.tracks["video"].stop()
                self.tracks["video"] = track
                transceiver.sender.replaceTrack(track)
                listen_for_keyframe_requests(transceiver.sender, track.want_keyframe)

    async def offer(self) -> str:
        restrict_host_addresses(self.pc, self.addresses)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def answer(self, offer: str) -> str:
        """Answers a server's offer (Janus offers to its subscribers): the transceivers this
        peer made take the offered sections, and only receive if the offer only sends."""
        await self.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        restrict_host_addresses(self.pc, self.addresses)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        install_fast_receive(self.pc)
        return str(self.pc.localDescription.sdp)


class Call:
    """One 1:1 call as the bench sees it: what each side received, and how to hang up."""

    def __init__(self) -> None:
        self.receivers: list[Receiver] = []
        self.closers: list[Callable[[], Awaitable[Any]]] = []

    def flowing(self) -> bool:
        return all(r["video"].frames > 0 and r["audio"].frames > 0 for r in self.receivers)

    async def close(self) -> None:
        for close in self.closers:
            with contextlib.suppress(Exception):
                await close()


Counts = tuple[int, int, int, float]


def snapshot(calls: Sequence[Call]) -> list[Counts]:
    """Per receiver: video frames, audio frames, video bytes, media seconds of video so far."""
    return [
        (r["video"].frames, r["audio"].frames, r["video"].octets, r["video"].media_seconds)
        for call in calls
        for r in call.receivers
    ]


def rates(before: list[Counts], after: list[Counts], wall: float) -> list[list[float]]:
    """Per receiver over a window of `wall` seconds: video frames/s, audio packets/s, video
    kbit/s, and video frames per second of media time."""
    return [
        [
            (b[0] - a[0]) / wall,
            (b[1] - a[1]) / wall,
            (b[2] - a[2]) * 8 / wall / 1000,
            (b[0] - a[0]) / (b[3] - a[3]) if b[3] > a[3] else 0.0,
        ]
        for a, b in zip(before, after, strict=True)
    ]


async def wait_flowing(calls: Sequence[Call], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not all(call.flowing() for call in calls):
        if time.monotonic() > deadline:
            started = sum(call.flowing() for call in calls)
            raise RuntimeError(f"{what}: media flows in {started} of {len(calls)} calls only")
        await asyncio.sleep(0.1)


# -- micromentor -------------------------------------------------------------------------------


class CallSocket:
    """One participant's side of the signaling: logged in by the demo link, on the call
    socket, the server's messages drained."""

    def __init__(self) -> None:
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._drain: asyncio.Task[None] | None = None

    async def connect(self, base: str, demo: Mapping[str, Any], role: str) -> None:
        link = urlsplit(demo["urls"][role])
        await self.session.get(f"{base}{link.path}?{link.query}", allow_redirects=False)
        async with self.session.get(f"{base}/api/bookings/{demo['booking_id']}/join") as response:
            info = await response.json()
        if "ws_url" not in info:
            raise RuntimeError(f"join refused: {info}")
        self.ws = await self.session.ws_connect(info["ws_url"])

    async def negotiate(self, offer: str) -> str:
        assert self.ws is not None
        await self.ws.send_json({"type": "offer", "sdp": offer})
        while True:
            message = await self.ws.receive_json(timeout=30)
            if message["type"] == "answer":
                self._drain = asyncio.get_running_loop().create_task(self._drained(self.ws))
                return str(message["sdp"])
            if message["type"] == "error":
                raise RuntimeError(f"the server refused the offer: {message}")

    @staticmethod
    async def _drained(ws: aiohttp.ClientWebSocketResponse) -> None:
        async for _message in ws:
            pass

    async def close(self, leave: bool = False) -> None:
        if self.ws is not None:
            if leave and not self.ws.closed:
                with contextlib.suppress(Exception):
                    await self.ws.send_json({"type": "leave"})
            await self.ws.close()
        if self._drain is not None:
            self._drain.cancel()
        await self.session.close()


class MicromentorCall(Call):
    def __init__(self, video: Clip, audio: Clip, addresses: tuple[str, ...]) -> None:
        super().__init__()
        self.peers = [BenchPeer(video, audio, addresses) for _ in ROLES]
        self.receivers = [peer.receiver for peer in self.peers]

    async def join(self, base: str, demo: Mapping[str, Any]) -> None:
        for role, peer in zip(ROLES, self.peers, strict=True):
            socket = CallSocket()
            self.closers.insert(0, socket.close)
            self.closers.append(peer.close)
            await socket.connect(base, demo, role)
            await peer.accept(await socket.negotiate(await peer.offer()))


async def demo_calls(env: Mapping[str, str], count: int) -> list[dict[str, Any]]:
    """`count` demo calls in the server's database (what `python -m server demo-call --json`
    prints, without a process per call)."""
    from dataclasses import asdict

    from server.accounts.passwords import Passwords
    from server.accounts.service import Accounts
    from server.calls.demo import create_demo_call
    from server.clock import utc_now
    from server.config import load_config
    from server.db.engine import Database
    from server.db.migrate import upgrade
    from server.keys import derive, load_or_create

    config = load_config(None, env)
    db = Database(config.database_url, busy_timeout_ms=config.database.busy_timeout_ms)
    try:
        await upgrade(db)
        accounts = Accounts(db, Passwords(), config.auth, utc_now)
        secret = config.server.secret_key or load_or_create(config.data_dir / "secret_key")
        key = derive(secret, "demo login")
        return [asdict(await create_demo_call(accounts, config, key)) for _ in range(count)]
    finally:
        await db.close()


# -- the MediaRelay baseline --------------------------------------------------------------------


class RelayCall(Call):
    def __init__(self, video: Clip, audio: Clip, addresses: tuple[str, ...]) -> None:
        super().__init__()
        self.peers = [BenchPeer(video, audio, addresses) for _ in ROLES]
        self.receivers = [peer.receiver for peer in self.peers]
        self.closers = [peer.close for peer in self.peers]

    async def join(self, base: str, number: int) -> None:
        async with aiohttp.ClientSession() as session:
            for role, peer in zip(ROLES, self.peers, strict=True):
                body = {"call": number, "role": role, "sdp": await peer.offer()}
                async with session.post(f"{base}/offer", json=body) as response:
                    await peer.accept((await response.json())["sdp"])


# -- clips shared with the load generator's processes -----------------------------------------


def save_clips(path: Path, video: Clip, audio: Clip) -> None:
    path.write_bytes(pickle.dumps((video, audio)))


def load_clips(path: Path) -> tuple[Clip, Clip]:
    video, audio = pickle.loads(path.read_bytes())
    return video, audio
