"""CPU per call: this SFU (encoded forwarding) against aiortc's MediaRelay (decode + re-encode).

    .venv/bin/python -m bench.calls [--calls 3] [--seconds 10] [--rounds 2] [--recording]

Each round starts the real server (`python -m server serve`) and the baseline
(`python -m bench.relay_server`) in turn as subprocesses, runs the same N concurrent 1:1 calls
through each with pre-encoded 640x480 VP8 (~700 kbps) and Opus sent by real aiortc peers on
loopback, and reads the server process's CPU time from /proc over the measuring window. It
prints CPU per call for each, the frame rates the receivers saw (a starved server shows as low
fps), and the ratio. The machine is shared and noisy: compare the ratio, not the absolutes.

With --recording, each round runs the real server twice instead: plain, and with both sides of
every call consenting to a recording (media/recording/recorder.py muxing WebM into the data
directory), and prints what recording adds to the CPU per call (goal: at most 0.5% of one core).

bench/sfu.py runs the same comparison beside Janus VideoRoom, with capacity and join time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bench import processes
from bench.processes import ROOT, cpu_seconds, process
from tests.support.media import Clip, TestPeer, encode_opus, encode_vp8
from tests.support.net import free_port


@dataclass
class Sample:
    server: str
    calls: int
    seconds: float
    cpu_seconds: float
    video_fps: float
    audio_fps: float
    video_kbps: float

    @property
    def cpu_per_call(self) -> float:
        """Share of one core per call, in percent."""
        return 100 * self.cpu_seconds / self.seconds / self.calls


def server_env(data_dir: str, port: int) -> dict[str, str]:
    return processes.server_env(data_dir, port, MICROMENTOR_CALLS_DURATION_SECONDS="3600")


class Pair:
    """One call's two peers and whatever keeps them connected."""

    def __init__(self, video: Clip, audio: Clip) -> None:
        self.peers = [TestPeer(video, audio), TestPeer(video, audio)]
        self.closers: list[Callable[[], Awaitable[Any]]] = []

    def counts(self) -> tuple[int, int, int]:
        video = sum(len(p.received["video"].frames) for p in self.peers)
        audio = sum(len(p.received["audio"].frames) for p in self.peers)
        octets = sum(len(f.data) for p in self.peers for f in p.received["video"].frames)
        return video, audio, octets

    async def close(self) -> None:
        for close in self.closers:
            await close()
        for peer in self.peers:
            await peer.close()


async def join_sfu(base: str, env: dict[str, str], pair: Pair, record: bool = False) -> None:
    maker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "demo-call",
        "--json",
        *(["--record"] if record else []),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    output, _ = await maker.communicate()
    if maker.returncode != 0:
        raise RuntimeError("demo-call failed")
    await join_demo(base, json.loads(output), pair, record)


async def join_demo(base: str, demo: dict[str, Any], pair: Pair, record: bool = False) -> None:
    """Both sides of a demo call (what `server demo-call --json` prints) join through the
    call socket: demo login, join token, offer, answer; the socket is drained until closed."""
    for role, peer in zip(("mentor", "mentee"), pair.peers, strict=True):
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        pair.closers.append(session.close)
        link = urlsplit(demo["urls"][role])
        await session.get(f"{base}{link.path}?{link.query}", allow_redirects=False)
        async with session.get(f"{base}/api/bookings/{demo['booking_id']}/join") as response:
            info = await response.json()
        ws = await session.ws_connect(info["ws_url"])
        pair.closers.insert(0, ws.close)
        await ws.send_json({"type": "offer", "sdp": await peer.offer()})
        while True:
            message = await ws.receive_json(timeout=30)
            if message["type"] == "answer":
                await peer.accept(message["sdp"])
                break
        if record:
            await ws.send_json({"type": "record_consent"})
        drain = asyncio.get_running_loop().create_task(_drain(ws))
        pair.closers.append(lambda task=drain: _cancel(task))


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _message in ws:
        pass


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()


async def join_relay(base: str, call: int, pair: Pair) -> None:
    async with aiohttp.ClientSession() as session:
        for role, peer in zip(("mentor", "mentee"), pair.peers, strict=True):
            body = {"call": call, "role": role, "sdp": await peer.offer()}
            async with session.post(f"{base}/offer", json=body) as response:
                await peer.accept((await response.json())["sdp"])


async def measure(name: str, pid: int, pairs: list[Pair], warmup: float, seconds: float) -> Sample:
    deadline = time.monotonic() + 30
    while not all(p.counts()[0] > 0 for p in pairs):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name}: media did not start flowing")
        await asyncio.sleep(0.1)
    await asyncio.sleep(warmup)
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    before = [p.counts() for p in pairs]
    await asyncio.sleep(seconds)
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    after = [p.counts() for p in pairs]
    wall = t1 - t0
    streams = 2 * len(pairs)
    delta = [sum(a[i] - b[i] for a, b in zip(after, before, strict=True)) for i in range(3)]
    return Sample(
        name,
        len(pairs),
        wall,
        cpu1 - cpu0,
        delta[0] / wall / streams,
        delta[1] / wall / streams,
        delta[2] * 8 / wall / streams / 1000,
    )


async def run_sfu(
    calls: int, video: Clip, audio: Clip, warmup: float, seconds: float, record: bool = False
) -> Sample:
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = server_env(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        args = [sys.executable, "-m", "server", "serve"]
        async with process(args, env, f"{base}/healthz") as pid:
            pairs = [Pair(video, audio) for _ in range(calls)]
            try:
                for pair in pairs:
                    await join_sfu(base, env, pair, record)
                name = "sfu + recording" if record else "sfu (media/)"
                sample = await measure(name, pid, pairs, warmup, seconds)
            finally:
                for pair in pairs:
                    await pair.close()
        if record:
            check_recorded(Path(data_dir, "recordings"), calls)
        return sample


def check_recorded(directory: Path, calls: int) -> None:
    """Every side of every call left a WebM of some size: recording really ran."""
    files = list(directory.glob("*/*.webm"))
    if len(files) != 2 * calls or not all(f.stat().st_size > 100_000 for f in files):
        raise RuntimeError(f"recording did not run: {files}")


async def run_recording(
    calls: int, video: Clip, audio: Clip, warmup: float, seconds: float
) -> Sample:
    return await run_sfu(calls, video, audio, warmup, seconds, record=True)


async def run_relay(calls: int, video: Clip, audio: Clip, warmup: float, seconds: float) -> Sample:
    port = free_port()
    env = server_env("", port)
    base = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "bench.relay_server", str(port)]
    async with process(args, env, f"{base}/offer") as pid:
        pairs = [Pair(video, audio) for _ in range(calls)]
        try:
            for number, pair in enumerate(pairs):
                await join_relay(base, number, pair)
            return await measure("MediaRelay baseline", pid, pairs, warmup, seconds)
        finally:
            for pair in pairs:
                await pair.close()


def report_recording(samples: list[Sample]) -> None:
    print(f"{'server':<22}{'calls':>6}{'cpu/call':>11}{'video fps':>11}{'audio fps':>11}")
    for s in samples:
        print(
            f"{s.server:<22}{s.calls:>6}{s.cpu_per_call:>10.2f}%{s.video_fps:>11.1f}"
            f"{s.audio_fps:>11.1f}"
        )
    plain = statistics.median(s.cpu_per_call for s in samples if s.server == "sfu (media/)")
    recorded = statistics.median(s.cpu_per_call for s in samples if s.server != "sfu (media/)")
    print(f"\nmedian CPU per call: plain {plain:.2f}% of a core, with recording {recorded:.2f}%")
    print(
        f"recording adds {recorded - plain:+.2f}% of one core per call "
        f"({100 * (recorded / plain - 1):+.0f}%); goal: <= 0.5%"
    )


def report(samples: list[Sample]) -> None:
    print(
        f"{'server':<22}{'calls':>6}{'cpu/call':>11}{'video fps':>11}{'audio fps':>11}"
        f"{'video kbps':>12}  (per stream, each way)"
    )
    for s in samples:
        print(
            f"{s.server:<22}{s.calls:>6}{s.cpu_per_call:>10.2f}%{s.video_fps:>11.1f}"
            f"{s.audio_fps:>11.1f}{s.video_kbps:>12.0f}"
        )
    sfu = statistics.median(s.cpu_per_call for s in samples if s.server.startswith("sfu"))
    base = statistics.median(s.cpu_per_call for s in samples if not s.server.startswith("sfu"))
    print(f"\nmedian CPU per call: sfu {sfu:.2f}% of a core, baseline {base:.2f}%")
    print(f"ratio sfu/baseline: {sfu / base:.3f} (1/{base / sfu:.1f}); targets: <= 1/15 and <= 3%")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--recording", action="store_true", help="compare the SFU with and without recording"
    )
    args = parser.parse_args()
    print("encoding the clips…", flush=True)
    video = encode_vp8(seconds=4, width=640, height=480, kbps=700, gop=60)
    audio = encode_opus(seconds=4)
    samples = []
    for round_number in range(1, args.rounds + 1):
        for run in (run_sfu, run_recording if args.recording else run_relay):
            sample = await run(args.calls, video, audio, args.warmup, args.seconds)
            print(
                f"round {round_number}: {sample.server}: {sample.cpu_per_call:.2f}% per call",
                flush=True,
            )
            samples.append(sample)
    print()
    (report_recording if args.recording else report)(samples)


if __name__ == "__main__":
    asyncio.run(main())
