"""Junk at the SFU's media ports: what it costs the server, and what the calls feel.

    .venv/bin/python -m bench.junk [--calls 2] [--rate 20000] [--seconds 10] [--rounds 2]

Each round starts the real server (`python -m server serve`, media in its own process), runs N
1:1 calls of real aiortc peers on loopback (pre-encoded 640x480 VP8 ~700 kbps and Opus), then
measures two windows of the same length back to back: the calls alone, and the calls while a
separate process sends junk datagrams of every kind (STUN with a good header and random
attributes, the 24-byte ICE-CONTROLLING datagram aioice 0.13 chokes on, DTLS, RTP, RTCP and
random bytes) at the calls' UDP ports at --rate a second. It prints the server's CPU per junk
datagram (the difference between the windows over the datagrams sent; goal at most 10 us), the
receivers' video and audio frame rates in both windows and their ratio (goal: >= 29 video
frames/s under 20,000 junk datagrams/s), and what the server's /metrics counted as dropped.
The machine is shared and noisy: compare within a round.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import re
import socket
import statistics
import struct
import sys
import tempfile
import time
from dataclasses import dataclass

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.calls import Pair, join_sfu, measure, server_env
from bench.processes import cpu_seconds, process
from tests.support.media import Clip, encode_opus, encode_vp8
from tests.support.net import free_port

STUN_MAGIC = 0x2112A442
BAD_ICE_CONTROLLING = struct.pack("!HHI12sHH", 0x0001, 4, STUN_MAGIC, b"\x01" * 12, 0x802A, 4)


def junk(rng: random.Random) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:
        body = rng.randbytes(4 * rng.randrange(0, 16))
        return struct.pack("!HHI", 1, len(body), STUN_MAGIC) + rng.randbytes(12) + body
    if kind == 1:
        return BAD_ICE_CONTROLLING
    if kind == 2:
        return bytes([rng.choice((20, 22, 23))]) + rng.randbytes(rng.randrange(12, 300))
    if kind == 3:
        return bytes([0x80, rng.randrange(128)]) + rng.randbytes(rng.randrange(10, 1200))
    if kind == 4:
        return bytes([0x80, rng.randrange(200, 206)]) + rng.randbytes(rng.randrange(6, 200))
    return rng.randbytes(rng.randrange(1, 1400))


def send_junk(ports: list[tuple[str, int]], rate: int, seconds: float, sent: object) -> None:
    """Runs in its own process: `rate` datagrams a second at `ports` for `seconds`."""
    rng = random.Random(19)
    datagrams = [junk(rng) for _ in range(4096)]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.monotonic()
    count = 0
    while (now := time.monotonic()) - start < seconds:
        due = int((now - start) * rate)
        while count < due:
            try:
                sock.sendto(datagrams[count % len(datagrams)], ports[count % len(ports)])
            except OSError:
                pass  # the kernel's buffer is full: the datagram is not counted as sent
            else:
                count += 1
                continue
            break
        time.sleep(0.001)
    sent.value = count  # type: ignore[attr-defined]


def server_ports(pairs: list[Pair]) -> list[tuple[str, int]]:
    """The SFU's host candidates, as each peer's answer announced them."""
    found = set()
    for pair in pairs:
        for peer in pair.peers:
            sdp = peer.pc.remoteDescription.sdp
            for host, port in re.findall(r"a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host", sdp):
                found.add((host, int(port)))
    return sorted(found)


async def dropped(base: str) -> float:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/metrics") as response:
        text = await response.text()
    for family in text_string_to_metric_families(text):
        if family.name == "micromentor_media_dropped_datagrams":
            return sum(s.value for s in family.samples if s.name.endswith("_total"))
    return 0.0


@dataclass
class Round:
    cpu_quiet: float
    cpu_junk: float
    sent: int
    counted: float
    fps_quiet: float
    fps_junk: float
    audio_quiet: float
    audio_junk: float

    @property
    def us_per_datagram(self) -> float:
        return 1e6 * (self.cpu_junk - self.cpu_quiet) / max(1, self.sent)


async def one_round(calls: int, rate: int, seconds: float, video: Clip, audio: Clip) -> Round:
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = server_env(data_dir, port)
        env["MICROMENTOR_METRICS_ALLOW"] = "127.0.0.1"
        base = f"http://127.0.0.1:{port}"
        args = [sys.executable, "-m", "server", "serve"]
        async with process(args, env, f"{base}/healthz") as pid:
            pairs = [Pair(video, audio) for _ in range(calls)]
            try:
                for pair in pairs:
                    await join_sfu(base, env, pair)
                quiet = await measure("quiet", pid, pairs, 3, seconds)
                ports = server_ports(pairs)
                counted_before = await dropped(base)
                sent = multiprocessing.Value("q", 0)
                sender = multiprocessing.Process(
                    target=send_junk, args=(ports, rate, seconds + 1.5, sent)
                )
                cpu0 = cpu_seconds(pid)
                sender.start()
                noisy = await measure("junk", pid, pairs, 0.5, seconds)
                await asyncio.get_running_loop().run_in_executor(None, sender.join)
                cpu_total = cpu_seconds(pid) - cpu0
                counted = await dropped(base) - counted_before
            finally:
                for pair in pairs:
                    await pair.close()
    # CPU per junk datagram from the whole junk window (sender start to end) against the quiet
    # window's rate: the quiet CPU a second times the same wall time.
    junk_window = seconds + 1.5
    quiet_rate = quiet.cpu_seconds / quiet.seconds
    return Round(
        cpu_quiet=quiet_rate * junk_window,
        cpu_junk=cpu_total,
        sent=sent.value,
        counted=counted,
        fps_quiet=quiet.video_fps,
        fps_junk=noisy.video_fps,
        audio_quiet=quiet.audio_fps,
        audio_junk=noisy.audio_fps,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2)
    parser.add_argument("--rate", type=int, default=20_000, help="junk datagrams a second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print("encoding the clips…", flush=True)
    video = encode_vp8(seconds=4, width=640, height=480, kbps=700, gop=60)
    audio = encode_opus(seconds=4)
    rounds = []
    for number in range(1, args.rounds + 1):
        r = await one_round(args.calls, args.rate, args.seconds, video, audio)
        rounds.append(r)
        print(
            f"round {number}: {r.sent} junk datagrams ({r.sent / (args.seconds + 1.5):.0f}/s), "
            f"{r.counted:.0f} counted as dropped; server CPU {r.us_per_datagram:.1f} us per junk "
            f"datagram; video fps {r.fps_quiet:.1f} quiet, {r.fps_junk:.1f} under junk "
            f"(ratio {r.fps_junk / r.fps_quiet:.3f}); audio {r.audio_quiet:.1f} / "
            f"{r.audio_junk:.1f}",
            flush=True,
        )
    us = statistics.median(r.us_per_datagram for r in rounds)
    fps = statistics.median(r.fps_junk for r in rounds)
    ratio = statistics.median(r.fps_junk / r.fps_quiet for r in rounds)
    print(
        f"\nmedian: {us:.1f} us of server CPU per junk datagram (goal <= 10); receivers at "
        f"{fps:.1f} video frames/s under {args.rate}/s junk, {ratio:.3f} of the quiet rate "
        f"(goal >= 29 fps)"
    )


if __name__ == "__main__":
    asyncio.run(main())
