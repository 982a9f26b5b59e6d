"""Recording with consent, through the real app and real aiortc peers (issue 17's acceptance):
the files hold the very packets sent, play in ffprobe, nothing is written without both
consents or with too little disk, and a SIGKILL leaves a readable file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import av
import pytest
from sqlalchemy import update

from bench.processes import ROOT, server_env, wait_http
from server.calls.service import CALLS
from server.config import CONFIG
from server.db.models import Booking
from tests.integration.conftest import MakeClient, Site, make_site
from tests.support.calls import CallParticipant, Client
from tests.support.media import Clip, TestPeer, wait_for
from tests.support.net import free_port


async def offer_recording(client: Client, booking_id: int) -> None:
    """The mentee asked for a recording when booking (the mentor's profile allows it)."""
    calls = client.app[CALLS]  # type: ignore[index]
    async with calls.db.write() as s:
        await s.execute(update(Booking).where(Booking.id == booking_id).values(record=True))


def recording_dir(site: Site, booking_id: int) -> Path:
    path: Path = site.server.app[CONFIG].recording_dir / str(booking_id)
    return path


def recording(participant: CallParticipant) -> dict[str, Any]:
    states = participant.of_type("state")
    return states[-1]["recording"] if states else {}


async def both_see(state: str, *sides: CallParticipant) -> None:
    await wait_for(
        lambda: all(recording(p).get("state") == state for p in sides), what=f"state {state}"
    )


def probe(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def packets(path: Path) -> dict[str, list[tuple[bytes, float]]]:
    """The file's packets by kind, demuxed by PyAV (no decoding): (bytes, seconds)."""
    found: dict[str, list[tuple[bytes, float]]] = {"audio": [], "video": []}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size and packet.pts is not None and packet.time_base is not None:
                at = float(packet.pts * packet.time_base)
                found[packet.stream.type].append((bytes(packet), at))
    return found


def skipped_in_order(recorded: list[bytes], clip: Clip) -> int:
    """Walks the clip as the sender looped it: every recorded packet must come next in that
    order. Returns how many sent packets the file skipped (lost on the way), from the best
    starting point (a steady tone repeats some Opus packets byte for byte)."""
    sent = clip.payloads
    starts = [i for i, data in enumerate(sent) if data == recorded[0]]
    assert starts, "the first recorded packet was never sent"
    walks = [_skipped_from(start, recorded, sent) for start in starts]
    found = [skipped for skipped in walks if skipped is not None]
    assert found, "a recorded packet is not one of the next the sender sent"
    return min(found)


def _skipped_from(at: int, recorded: list[bytes], sent: list[bytes]) -> int | None:
    skipped = 0
    for data in recorded[1:]:
        step = 1
        while sent[(at + step) % len(sent)] != data:
            step += 1
            if step > 30:
                return None
        skipped += step - 1
        at = (at + step) % len(sent)
    return skipped


@pytest.fixture
async def pair(
    site: Site, video_clip: Clip, audio_clip: Clip
) -> AsyncIterator[tuple[CallParticipant, CallParticipant, int]]:
    mentor_client, mentee_client, booking_id = await site.booked_pair()
    await offer_recording(mentor_client, booking_id)
    mentor = CallParticipant(mentor_client, video_clip, audio_clip)
    mentee = CallParticipant(mentee_client, video_clip, audio_clip)
    yield mentor, mentee, booking_id
    await mentor.close()
    await mentee.close()


async def test_with_both_consents_each_side_is_recorded_packet_for_packet(
    site: Site,
    pair: tuple[CallParticipant, CallParticipant, int],
    video_clip: Clip,
    audio_clip: Clip,
) -> None:
    mentor, mentee, booking_id = pair
    directory = recording_dir(site, booking_id)
    await mentor.join(booking_id)
    await mentee.join(booking_id)
    await wait_for(lambda: mentor.video_frames() > 5 and mentee.video_frames() > 5, what="video")
    assert recording(mentor) == {"offered": True, "consented": [], "state": "off", "message": ""}

    await mentor.send({"type": "record_consent"})
    await both_see("waiting", mentor, mentee)
    assert recording(mentee)["consented"] == ["mentor"]
    assert not directory.exists(), "nothing is written before both agree"
    await mentee.send({"type": "record_consent"})
    await both_see("running", mentor, mentee)
    running_at = time.monotonic()
    await asyncio.sleep(4)
    await mentee.send({"type": "leave"})
    await mentor.send({"type": "leave"})
    recorded_for = time.monotonic() - running_at
    manifest_path = directory / "recording.json"
    await wait_for(
        lambda: json.loads(manifest_path.read_text())["stopped_at"] is not None,
        what="the recording closed",
    )

    manifest = json.loads(manifest_path.read_text())
    assert manifest["booking_id"] == booking_id
    assert manifest["started_at"].endswith("Z")
    assert set(manifest["files"]) == {"mentor", "mentee"}
    for role in ("mentor", "mentee"):
        entry = manifest["files"][role]
        assert entry["name"] == f"{role}.webm"
        assert 0 <= entry["offset_seconds"] < 1
        path = directory / entry["name"]
        info = probe(path)
        codecs = sorted(s["codec_name"] for s in info["streams"])
        assert codecs == ["opus", "vp8"], codecs
        video = next(s for s in info["streams"] if s["codec_name"] == "vp8")
        assert (video["width"], video["height"]) == (320, 240)
        duration = float(info["format"]["duration"]) + entry["offset_seconds"]
        assert abs(duration - recorded_for) < 1, (role, duration, recorded_for)

        found = packets(path)
        recorded_video = [data for data, _ in found["video"]]
        assert len(recorded_video) > 3 * 25 - 30  # ~30 fps, from a keyframe (one a second)
        assert video_clip.keyframes[video_clip.payloads.index(recorded_video[0])]
        assert skipped_in_order(recorded_video, video_clip) <= len(recorded_video) // 50
        recorded_audio = [data for data, _ in found["audio"]]
        assert len(recorded_audio) > 3.5 * 45
        assert skipped_in_order(recorded_audio, audio_clip) <= len(recorded_audio) // 50
        times = [at for _, at in found["video"]]
        assert times == sorted(times)

    names = [t.name for t in threading.enumerate()]
    assert not any("decoder" in name or "encoder" in name for name in names), names


async def test_without_the_other_sides_consent_nothing_is_written(
    site: Site, pair: tuple[CallParticipant, CallParticipant, int]
) -> None:
    mentor, mentee, booking_id = pair
    await mentor.join(booking_id)
    await mentee.join(booking_id)
    await mentee.send({"type": "record_consent"})
    await both_see("waiting", mentor, mentee)
    await wait_for(lambda: mentor.video_frames() > 30, what="video")
    await mentee.send({"type": "leave"})
    await mentor.send({"type": "leave"})
    await mentor.wait_closed()
    assert not recording_dir(site, booking_id).exists()
    assert not site.server.app[CONFIG].recording_dir.exists()


async def test_either_side_stops_it_and_it_does_not_restart(
    site: Site, pair: tuple[CallParticipant, CallParticipant, int]
) -> None:
    mentor, mentee, booking_id = pair
    await mentor.open_socket(booking_id)  # consent needs no media
    await mentee.open_socket(booking_id)
    await mentor.send({"type": "record_consent"})
    await mentee.send({"type": "record_consent"})
    await both_see("running", mentor, mentee)
    await mentee.send({"type": "record_stop"})
    await both_see("stopped", mentor, mentee)
    assert recording(mentor)["message"] == "Recording stopped by the mentee."
    await mentor.send({"type": "record_consent"})  # ignored
    await mentor.send({"type": "chat", "text": "after"})
    await mentor.next_message("chat")
    assert recording(mentor)["state"] == "stopped"
    manifest = json.loads((recording_dir(site, booking_id) / "recording.json").read_text())
    assert manifest["stopped_at"] is not None
    assert manifest["files"] == {}  # no media was sent


async def test_low_disk_refuses_on_both_pages_and_writes_nothing(
    tmp_path: Path,
    aiohttp_server: Any,
    aiohttp_client: MakeClient,
    video_clip: Clip,
    audio_clip: Clip,
) -> None:
    site = await make_site(
        tmp_path,
        aiohttp_server,
        aiohttp_client,
        manual_clock=False,
        MICROMENTOR_RECORDING_MIN_FREE_MB=str(10**9),
    )
    mentor_client, mentee_client, booking_id = await site.booked_pair()
    await offer_recording(mentor_client, booking_id)
    mentor = CallParticipant(mentor_client, video_clip, audio_clip)
    mentee = CallParticipant(mentee_client, video_clip, audio_clip)
    try:
        await mentor.open_socket(booking_id)
        await mentee.open_socket(booking_id)
        await mentor.send({"type": "record_consent"})
        await mentee.send({"type": "record_consent"})
        await both_see("refused", mentor, mentee)
        expected = "Recording cannot start: the server is short of disk space."
        assert recording(mentor)["message"] == recording(mentee)["message"] == expected
        assert not recording_dir(site, booking_id).exists()
    finally:
        await mentor.close()
        await mentee.close()


async def test_not_offered_is_an_error_and_writes_nothing(
    site: Site, video_clip: Clip, audio_clip: Clip
) -> None:
    mentor_client, _mentee_client, booking_id = await site.booked_pair()  # record is False
    mentor = CallParticipant(mentor_client, video_clip, audio_clip)
    try:
        await mentor.open_socket(booking_id)
        assert (await mentor.next_message("state"))["recording"]["offered"] is False
        await mentor.send({"type": "record_consent"})
        assert (await mentor.next_message("error"))["code"] == "not_offered"
    finally:
        await mentor.close()
    assert not recording_dir(site, booking_id).exists()


# -- SIGKILL mid-call: a separate server process ---------------------------------------------


class SocketPeer:
    """A side of the call against a server process: demo login, call socket, aiortc peer."""

    def __init__(self, base: str, video: Clip, audio: Clip) -> None:
        self.base = base
        self.peer = TestPeer(video, audio)
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.states: list[dict[str, Any]] = []
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def join(self, booking_id: int, link: str) -> None:
        url = urlsplit(link)
        await self.session.get(f"{self.base}{url.path}?{url.query}", allow_redirects=False)
        async with self.session.get(f"{self.base}/api/bookings/{booking_id}/join") as response:
            info = await response.json()
        self.ws = await self.session.ws_connect(info["ws_url"])
        await self.ws.send_json({"type": "offer", "sdp": await self.peer.offer()})
        while True:
            message = await self.ws.receive_json(timeout=30)
            if message["type"] == "answer":
                await self.peer.accept(message["sdp"])
                break
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(message.data)
                if data["type"] == "state":
                    self.states.append(data)

    def recording_state(self) -> str | None:
        return self.states[-1]["recording"]["state"] if self.states else None

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self.session.close()
        await self.peer.close()


async def test_a_sigkill_mid_recording_leaves_a_readable_file(
    tmp_path: Path, video_clip: Clip, audio_clip: Clip
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(str(tmp_path), port, MICROMENTOR_SERVER_PUBLIC_URL=base)
    maker = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "server", "demo-call", "--json", "--record"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await maker.communicate()
    assert maker.returncode == 0
    demo = json.loads(output)
    server = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "server", "serve"),
        cwd=ROOT,
        env=env,
        stderr=asyncio.subprocess.DEVNULL,
    )
    sides = [SocketPeer(base, video_clip, audio_clip) for _ in range(2)]
    try:
        await wait_http(f"{base}/healthz", server)
        for role, side in zip(("mentor", "mentee"), sides, strict=True):
            await side.join(demo["booking_id"], demo["urls"][role])
        await wait_for(
            lambda: all(len(s.peer.received["video"].frames) > 5 for s in sides), what="video"
        )
        for side in sides:
            assert side.ws is not None
            await side.ws.send_json({"type": "record_consent"})
        await wait_for(lambda: all(s.recording_state() == "running" for s in sides))
        running_at = time.monotonic()
        await asyncio.sleep(6)
        os.kill(server.pid, signal.SIGKILL)
        killed_after = time.monotonic() - running_at
        await server.wait()
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
        for side in sides:
            await side.close()

    directory = tmp_path / "recordings" / str(demo["booking_id"])
    manifest = json.loads((directory / "recording.json").read_text())
    assert manifest["stopped_at"] is None  # never closed cleanly
    for role in ("mentor", "mentee"):
        entry = manifest["files"][role]
        path = directory / entry["name"]
        codecs = sorted(s["codec_name"] for s in probe(path)["streams"])
        assert codecs == ["opus", "vp8"]
        found = packets(path)
        last = max(at for kind in found.values() for _, at in kind) + entry["offset_seconds"]
        assert killed_after - 2 <= last <= killed_after + 0.5, (role, last, killed_after)
