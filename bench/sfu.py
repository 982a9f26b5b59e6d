"""The SFU's performance in one run: everything issue 18's acceptance asks for.

    .venv/bin/python -m bench.sfu            # about 15 minutes on a 2-core machine
    .venv/bin/python -m bench.sfu --quick    # a smoke check of every part, about 4 minutes
    make bench                               # installs Debian's janus when missing, then the above

1. CPU per call, side by side: the same N concurrent 1:1 calls (real aiortc peers replaying
   pre-encoded 640x480 VP8 at ~700 kbps and Opus, both sides publishing, each receiving the
   other) through micromentor (`python -m server serve`, with its default media workers and
   with `[media] workers = 0`), Janus VideoRoom (Debian's `janus`, bench/janus.py) and aiortc's
   MediaRelay (bench/relay_server.py), one after the other in each round, the same clip and
   the same measuring window. CPU per server process (and its media workers) from /proc.
   Janus's ICE ignores loopback, so as root the servers all run in a private network namespace
   and the clients reach them over a veth pair (bench/netns.py); without root Janus is skipped
   and the others run on loopback.
2. CPU per forwarded packet: micromentor's CPU over the window divided by the RTP packets its
   /metrics says it sent in that window (SRTP included).
3. Join time: a second participant's offer to their first remote video frame, p50 and p95 over
   sequential joins (the first participant stays in the call, the second joins and leaves).
4. Capacity: the most concurrent 1:1 calls with every receiver at >= 29 video frames/s and
   >= 49 audio packets/s, found by doubling then bisecting (within a time cap), for one media
   worker and for all of them. The clients run in several processes (bench/load.py); their
   CPU is reported apart, and on a small machine they compete with the server for its cores.

The machine may be shared and noisy: each figure is a median over rounds, with its range.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench import janus, netns, processes
from bench.janus import JanusApi, JanusCall, janus_server
from bench.peers import (
    BenchPeer,
    Call,
    CallSocket,
    MicromentorCall,
    RelayCall,
    demo_calls,
    rates,
    save_clips,
    snapshot,
    wait_flowing,
)
from bench.processes import ROOT, process, tree_cpu_seconds
from tests.support.media import Clip, encode_opus, encode_vp8
from tests.support.net import free_port

MIN_VIDEO_FPS = 29.0
MIN_AUDIO_PPS = 49.0
GOAL_RATIO_JANUS = 1.0
GOAL_US_PER_PACKET = 40.0
WORKERS_VARIABLE = "MICROMENTOR_MEDIA_WORKERS"
JOIN_PAUSE_S = 1.0  # between one join's leaving and the next join


@dataclass(frozen=True)
class Place:
    """Where the servers serve and the clients gather ICE: a namespace, or loopback."""

    server: str
    client: str
    ns: netns.Netns | None = None

    def wrap(self, args: list[str]) -> list[str]:
        return self.ns.wrap(args) if self.ns else args


LOOPBACK = Place("127.0.0.1", "127.0.0.1")


@dataclass(frozen=True)
class Clips:
    video: Clip
    audio: Clip
    path: Path  # pickled, for the load generator's processes


@dataclass
class Sample:
    server: str
    calls: int
    seconds: float
    cpu_seconds: float
    processes: int
    receivers: list[list[float]]  # video fps, audio packets/s, video kbps (bench.peers.rates)
    packets_out: float | None = None
    round: int = 0

    @property
    def cpu_per_call(self) -> float:
        """Share of one core per call, in percent."""
        return 100 * self.cpu_seconds / self.seconds / self.calls

    @property
    def min_video(self) -> float:
        return min(r[0] for r in self.receivers)

    @property
    def min_audio(self) -> float:
        return min(r[1] for r in self.receivers)

    @property
    def kbps(self) -> float:
        return statistics.mean(r[2] for r in self.receivers)

    @property
    def us_per_packet(self) -> float | None:
        if not self.packets_out:
            return None
        return 1e6 * self.cpu_seconds / self.packets_out


# -- servers -------------------------------------------------------------------------------------


def workers_setting() -> bool:
    """Whether this tree has `[media] workers` (added by issue 18's worker processes)."""
    from media.config import MediaSettings

    return "workers" in {f.name for f in dataclasses.fields(MediaSettings)}


def micromentor_env(data_dir: str, port: int, place: Place, workers: str | None) -> dict[str, str]:
    extra = {
        "MICROMENTOR_CALLS_DURATION_SECONDS": "3600",
        "MICROMENTOR_SERVER_HOST": place.server,
        "MICROMENTOR_MEDIA_ICE_ADDRESSES": place.server,
        "MICROMENTOR_METRICS_ALLOW": f"{place.client}/32",
    }
    env = processes.server_env(data_dir, port, **extra)
    env.pop(WORKERS_VARIABLE, None)  # None: the server's own default (config.toml's)
    if workers is not None:
        env[WORKERS_VARIABLE] = workers
    return env


@contextlib.asynccontextmanager
async def micromentor(
    place: Place, workers: str | None = None
) -> AsyncIterator[tuple[int, str, dict[str, str]]]:
    """The real server (`python -m server serve`) at `place`: its pid, base URL and env."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = micromentor_env(data_dir, port, place, workers)
        base = f"http://{place.server}:{port}"
        args = place.wrap([sys.executable, "-m", "server", "serve"])
        async with process(args, env, f"{base}/healthz", Path(data_dir, "server.log")) as pid:
            yield pid, base, env


async def scrape(url: str) -> dict[str, float]:
    """The figures the bench reads from micromentor's /metrics."""
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status}")
        text = await response.text()
    values: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "micromentor_forwarded_packets_total":
                if sample.labels.get("direction") == "out":
                    values["packets_out"] += sample.value
            elif sample.name in ("micromentor_join_seconds_sum", "micromentor_join_seconds_count"):
                kind = sample.name.rsplit("_", 1)[1]
                values[f"{sample.labels.get('stage')}_{kind}"] += sample.value
    return values


async def measure(
    name: str,
    pid: int,
    calls: Sequence[Call],
    warmup: float,
    seconds: float,
    metrics_url: str | None = None,
) -> Sample:
    await wait_flowing(calls, 30, name)
    await asyncio.sleep(warmup)
    before = await scrape(metrics_url) if metrics_url else {}
    cpu0, _ = tree_cpu_seconds(pid)
    t0, counts0 = time.monotonic(), snapshot(calls)
    await asyncio.sleep(seconds)
    cpu1, count = tree_cpu_seconds(pid)
    t1, counts1 = time.monotonic(), snapshot(calls)
    after = await scrape(metrics_url) if metrics_url else {}
    wall = t1 - t0
    receivers = rates(counts0, counts1, wall)
    packets = after["packets_out"] - before["packets_out"] if metrics_url else None
    return Sample(name, len(calls), wall, cpu1 - cpu0, count, receivers, packets)


async def hang_up(calls: Sequence[Call]) -> None:
    for call in calls:
        await call.close()


def micromentor_name(workers: str | None) -> str:
    return "micromentor" if workers is None else f"micromentor w={workers}"


async def run_micromentor(
    place: Place, n: int, clips: Clips, warmup: float, seconds: float, workers: str | None
) -> Sample:
    async with micromentor(place, workers) as (pid, base, env):
        demos = await demo_calls(env, n)
        calls = [MicromentorCall(clips.video, clips.audio, (place.client,)) for _ in range(n)]
        try:
            for call, demo in zip(calls, demos, strict=True):
                await call.join(base, demo)
            name = micromentor_name(workers)
            return await measure(name, pid, calls, warmup, seconds, f"{base}/metrics")
        finally:
            await hang_up(calls)


async def run_janus(place: Place, n: int, clips: Clips, warmup: float, seconds: float) -> Sample:
    assert place.ns is not None
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        async with janus_server(place.ns, port, Path(directory)) as pid:
            api = JanusApi(f"http://{place.server}:{port}/janus")
            await api.start()
            calls = [JanusCall(clips.video, clips.audio, (place.client,)) for _ in range(n)]
            try:
                for room, call in enumerate(calls, start=1000):
                    await call.join(api, room)
                return await measure("Janus VideoRoom", pid, calls, warmup, seconds)
            finally:
                await hang_up(calls)
                await api.close()


async def run_relay(place: Place, n: int, clips: Clips, warmup: float, seconds: float) -> Sample:
    port = free_port()
    env = processes.server_env("", port)
    base = f"http://{place.server}:{port}"
    args = place.wrap([sys.executable, "-m", "bench.relay_server", str(port), place.server])
    async with process(args, env, f"{base}/offer") as pid:
        calls = [RelayCall(clips.video, clips.audio, (place.client,)) for _ in range(n)]
        try:
            for number, call in enumerate(calls):
                await call.join(base, number)
            return await measure("MediaRelay", pid, calls, warmup, seconds)
        finally:
            await hang_up(calls)


Runner = Callable[[Place, int, Clips, float, float], Awaitable[Sample]]


# -- 1 and 2: CPU per call and per packet ----------------------------------------------------------


async def cpu_per_call(args: argparse.Namespace, place: Place, clips: Clips) -> list[Sample]:
    runners: list[tuple[str, Runner]] = [
        (micromentor_name(workers), functools.partial(run_micromentor, workers=workers))
        for workers in args.workers
    ]
    if place.ns is not None and janus.missing() is None:
        runners.append(("Janus VideoRoom", run_janus))
    runners.append(("MediaRelay", run_relay))
    print(
        f"\n== 1. CPU per call: {args.calls} concurrent 1:1 calls, {args.seconds:g} s windows, "
        f"{args.rounds} round(s) ==",
        flush=True,
    )
    header = (
        f"{'round':<6}{'server':<17}{'calls':>6}{'cpu/call':>10}{'min vfps':>10}"
        f"{'min afps':>10}{'kbps':>7}{'procs':>6}{'us/pkt':>8}"
    )
    print(header, flush=True)
    samples = []
    for number in range(1, args.rounds + 1):
        shift = (number - 1) % len(runners)  # each server goes first in some round
        for name, run in runners[shift:] + runners[:shift]:
            stopping()
            try:
                sample = await run(place, args.calls, clips, args.warmup, args.seconds)
            except (RuntimeError, TimeoutError, aiohttp.ClientError) as exc:
                print(f"{number:<6}{name:<17}failed: {exc}", flush=True)
                continue
            sample.round = number
            per_packet = f"{sample.us_per_packet:8.1f}" if sample.us_per_packet else f"{'':8}"
            print(
                f"{number:<6}{sample.server:<17}{sample.calls:>6}{sample.cpu_per_call:>9.2f}%"
                f"{sample.min_video:>10.1f}{sample.min_audio:>10.1f}{sample.kbps:>7.0f}"
                f"{sample.processes:>6}{per_packet}",
                flush=True,
            )
            samples.append(sample)
    return samples


def spread(values: list[float], digits: int = 2, unit: str = "") -> str:
    """median (min-max)"""
    return (
        f"{statistics.median(values):.{digits}f}{unit} "
        f"({min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def report_cpu(samples: list[Sample], rounds: int) -> None:
    by_server: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_server[sample.server].append(sample)
    print("\nmedian (range) over the rounds, CPU per call in % of one core:")
    for server, mine in by_server.items():
        print(f"  {server:<20}{spread([s.cpu_per_call for s in mine], unit='%')}")
    ours = [name for name in by_server if name.startswith("micromentor")]
    for name in ours:
        for other, goal in (("Janus VideoRoom", GOAL_RATIO_JANUS), ("MediaRelay", None)):
            print(f"ratio {name}/{other}: {ratio(by_server[name], by_server[other], goal)}")
    for s in samples:
        if s.min_video < MIN_VIDEO_FPS or s.min_audio < MIN_AUDIO_PPS:
            print(
                f"  note: round {s.round}, {s.server}: a receiver at {s.min_video:.1f} video fps "
                f"and {s.min_audio:.1f} audio packets/s (starved or lossy)"
            )
    print(f"\n== 2. CPU per forwarded packet (micromentor, {rounds} round(s)) ==")
    for name in ours:
        mine = [s for s in by_server[name] if s.us_per_packet and s.packets_out]
        if not mine:
            print(f"{name}: not measured: /metrics reported no forwarded packets")
            continue
        per_packet = [s.us_per_packet for s in mine if s.us_per_packet]
        rate = statistics.median(s.packets_out / s.seconds / s.calls for s in mine if s.packets_out)
        median = statistics.median(per_packet)
        print(
            f"{name}: {spread(per_packet, 1, ' us')} of CPU per RTP packet sent, SRTP "
            f"included ({rate:.0f} packets/s per call); goal <= {GOAL_US_PER_PACKET:.0f} us: "
            f"{'met' if median <= GOAL_US_PER_PACKET else 'MISSED'}"
        )


def ratio(ours: list[Sample], theirs: list[Sample], goal: float | None) -> str:
    """The ratio of the medians, the per-round ratios' range, and the verdict on `goal`."""
    if not ours or not theirs:
        return "not measured (see above)"
    value = statistics.median(s.cpu_per_call for s in ours) / statistics.median(
        s.cpu_per_call for s in theirs
    )
    by_round = {s.round: s.cpu_per_call for s in theirs}
    per_round = [s.cpu_per_call / by_round[s.round] for s in ours if s.round in by_round]
    text = f"{value:.3f} (1/{1 / value:.1f})"
    if per_round:
        text += f", per round {min(per_round):.3f}-{max(per_round):.3f}"
    if goal is not None:
        text += f"; goal <= {goal:.1f}: {'met' if value <= goal else 'MISSED'}"
    return text


# -- 4: capacity ---------------------------------------------------------------------------------


@dataclass
class Probe:
    calls: int
    passed: bool
    min_video: float = 0.0
    min_audio: float = 0.0
    mean_video: float = 0.0
    media_video: float = 0.0  # the lowest receiver's video fps over media time (loss only)
    server_cpu: float = 0.0  # % of one core
    load_cpu: float = 0.0  # % of one core, all the load generator's processes
    processes: int = 0
    us_per_packet: float | None = None
    error: str = ""


@dataclass
class LoadProcess:
    proc: asyncio.subprocess.Process
    log: Path
    errors: list[str] = field(default_factory=list)

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(ConnectionError):
            self.proc.stdin.write(f"{line}\n".encode())
            await self.proc.stdin.drain()

    async def receive(self, seconds: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), seconds)
        if not line:
            tail = self.log.read_text(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"a load process exited: {' | '.join(tail)}")
        message: dict[str, Any] = json.loads(line)
        if "error" in message:
            raise RuntimeError(message["error"])
        return message


async def probe(
    calls: int, workers: str | None, clips: Clips, args: argparse.Namespace, folder: Path
) -> Probe:
    async with micromentor(LOOPBACK, workers) as (pid, base, env):
        demos = await demo_calls(env, calls)
        count = min(args.load_processes, calls)
        loads = []
        client_env = {k: v for k, v in env.items() if not k.startswith("MICROMENTOR_")}
        try:
            for index in range(count):
                log = folder / f"load-{calls}-{index}.log"
                with log.open("w") as stderr:
                    proc = await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "bench.load",
                        cwd=ROOT,
                        env=client_env,
                        stdin=asyncio.subprocess.PIPE,
                        stdout=asyncio.subprocess.PIPE,
                        stderr=stderr,
                    )
                loads.append(LoadProcess(proc, log))
                job = {
                    "base": base,
                    "demos": demos[index::count],
                    "addresses": [LOOPBACK.client],
                    "clips": str(clips.path),
                    "timeout": 30 + calls,
                }
                await loads[-1].send(json.dumps(job))
            try:
                for load in loads:
                    await load.receive(60 + 3 * calls)
                await asyncio.sleep(args.warmup)
                before = await scrape(f"{base}/metrics")
                cpu0, _ = tree_cpu_seconds(pid)
                t0 = time.monotonic()
                for load in loads:
                    await load.send("start")
                await asyncio.sleep(args.capacity_window)
                for load in loads:
                    await load.send("stop")
                cpu1, nprocs = tree_cpu_seconds(pid)
                wall = time.monotonic() - t0
                after = await scrape(f"{base}/metrics")
                reports = [await load.receive(30) for load in loads]
            except (RuntimeError, TimeoutError, ValueError, aiohttp.ClientError) as exc:
                return Probe(calls, False, error=str(exc) or exc.__class__.__name__)
            receivers = [r for report in reports for r in report["receivers"]]
            packets = after["packets_out"] - before["packets_out"]
            result = Probe(
                calls,
                False,
                min(r[0] for r in receivers),
                min(r[1] for r in receivers),
                statistics.mean(r[0] for r in receivers),
                min(r[3] for r in receivers),
                100 * (cpu1 - cpu0) / wall,
                100 * sum(r["cpu_seconds"] for r in reports) / wall,
                nprocs,
                1e6 * (cpu1 - cpu0) / packets if packets else None,
            )
            result.passed = result.min_video >= MIN_VIDEO_FPS and result.min_audio >= MIN_AUDIO_PPS
            return result
        finally:
            for load in loads:
                await load.send("exit")
            for load in loads:
                try:
                    await asyncio.wait_for(load.proc.wait(), 30)
                except TimeoutError:
                    load.proc.kill()


def print_probe(p: Probe) -> None:
    if p.error:
        print(f"  {p.calls:>6}  failed: {p.error}", flush=True)
        return
    per_packet = f"{p.us_per_packet:9.1f}" if p.us_per_packet else f"{'':9}"
    print(
        f"  {p.calls:>6}{p.min_video:>10.1f}{p.mean_video:>10.1f}{p.media_video:>11.1f}"
        f"{p.min_audio:>10.1f}"
        f"{p.server_cpu:>10.0f}%"
        f"{p.processes:>6}{p.load_cpu:>10.0f}%{per_packet}  {'pass' if p.passed else 'FAIL'}",
        flush=True,
    )


async def capacity(
    label: str, workers: str | None, clips: Clips, args: argparse.Namespace, folder: Path
) -> tuple[Probe | None, int | None, int]:
    """Doubling from --capacity-start while every receiver keeps up, then bisecting; returns
    the probe with the most calls that passed (None if none did), the fewest calls that failed
    (None if none did) and the server's process count."""
    print(f"\n{label}", flush=True)
    print(
        f"  {'calls':>6}{'min vfps':>10}{'mean vfps':>10}{'media vfps':>11}{'min afps':>10}"
        f"{'server':>11}{'procs':>6}"
        f"{'load gen':>11}{'us/pkt':>9}",
        flush=True,
    )
    deadline = time.monotonic() + args.capacity_seconds
    best, worst, processes_seen = 0, None, 0
    best_probe = None
    calls = args.capacity_start
    while time.monotonic() < deadline:
        stopping()
        result = await probe(calls, workers, clips, args, folder)
        print_probe(result)
        processes_seen = max(processes_seen, result.processes)
        if result.passed:
            if calls > best:
                best, best_probe = calls, result
        else:
            worst = calls if worst is None else min(worst, calls)
        if worst is None:
            calls *= 2
        elif worst - best <= max(1, best // 8):
            break
        else:
            calls = (best + worst) // 2
        if calls < 1:
            break
    else:
        print(f"  (time cap of {args.capacity_seconds:g} s reached)")
    return best_probe, worst, processes_seen


async def capacities(args: argparse.Namespace, clips: Clips, folder: Path) -> None:
    cores = os.cpu_count() or 1
    print(
        f"\n== 4. Capacity: most concurrent 1:1 calls with every receiver >= {MIN_VIDEO_FPS:g} "
        f"video fps and >= {MIN_AUDIO_PPS:g} audio packets/s ==\n"
        f"The load generator ({args.load_processes} client processes, loopback) runs on the "
        f"same {cores} cores as the server and competes with it: on a small machine the\n"
        f"figure is the machine's, not the server's alone. 'server' is the server's CPU and "
        f"'load gen' the clients', each in % of one core;\n'media vfps' counts the lowest "
        f"receiver's frames per second of media time: below 29, frames were lost; at 30 with "
        f"'min vfps' lower, they came late.",
        flush=True,
    )
    lines = []
    has_workers = workers_setting()
    modes: list[tuple[str, str | None]] = []
    if has_workers:
        modes.append((f"one media worker ({WORKERS_VARIABLE}=1)", "1"))
        modes.append(("all media workers (the default: one per core)", None))
    else:
        modes.append(("one process (this tree has no [media] workers setting yet)", None))
    for label, workers in modes:
        best, worst, nprocs = await capacity(label, workers, clips, args, folder)
        bound = f"{worst} failed" if worst is not None else "no probe failed"
        media = 1 if workers == "1" or not has_workers else max(1, nprocs - 1)
        calls = best.calls if best else 0
        lines.append(
            f"  {label}: {calls} calls ({bound}), {calls / media:.1f} per media worker core "
            f"({nprocs} server processes)"
        )
        if best is not None and best.server_cpu > 0:
            per_call = best.server_cpu / best.calls
            lines.append(
                f"    projection, not a measurement: at {best.calls} calls the server took "
                f"{per_call:.2f}% of a core per call, so {media} core(s) to itself would carry "
                f"about {100 * media / per_call:.0f} calls"
            )
    if not has_workers:
        lines.append(
            "  all media workers: skipped: this tree has no [media] workers setting "
            f"({WORKERS_VARIABLE}) yet"
        )
    print("\ncapacity:")
    print("\n".join(lines), flush=True)


# -- 3: join time --------------------------------------------------------------------------------


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


async def join_times(args: argparse.Namespace, clips: Clips) -> None:
    print(
        f"\n== 3. Join time: the second participant's offer to their first remote video frame, "
        f"{args.joins} sequential joins ==",
        flush=True,
    )
    client: list[float] = []
    failures: list[str] = []
    server: dict[str, list[float]] = defaultdict(list)
    async with micromentor(LOOPBACK, args.workers[0]) as (_pid, base, env):
        (demo,) = await demo_calls(env, 1)
        mentor = BenchPeer(clips.video, clips.audio, (LOOPBACK.client,))
        mentor_socket = CallSocket()
        try:
            await mentor_socket.connect(base, demo, "mentor")
            await mentor.accept(await mentor_socket.negotiate(await mentor.offer()))
            # One join first that is not counted: the mentor's own first video is over then.
            for number in range(args.joins + 1):
                stopping()
                try:
                    seconds, stages = await one_join(base, demo, clips)
                except (RuntimeError, TimeoutError, aiohttp.ClientError) as exc:
                    failures.append(str(exc))
                    continue
                if number == 0:
                    continue
                client.append(seconds)
                for stage, value in stages.items():
                    server[stage].append(value)
        finally:
            await mentor_socket.close()
            await mentor.close()
    if failures:
        print(f"{len(failures)} join(s) failed, the first: {failures[0]}")
    if len(client) < 2:
        print("join time: too few joins succeeded to tell")
        return
    print(
        f"client, offer sent -> first video frame received: p50 {percentile(client, 50):.3f} s, "
        f"p95 {percentile(client, 95):.3f} s (min {min(client):.3f}, max {max(client):.3f})"
    )
    names = {"ice_connected": "ICE connected", "first_video": "first video frame forwarded"}
    for stage, name in names.items():
        values = server.get(stage, [])
        if len(values) < 2:
            print(f"server, offer -> {name}: not separable from /metrics in these joins")
            continue
        print(
            f"server, offer -> {name}: p50 {percentile(values, 50):.3f} s, "
            f"p95 {percentile(values, 95):.3f} s ({len(values)} of {len(client)} joins, "
            "from /metrics)"
        )


async def one_join(base: str, demo: dict[str, Any], clips: Clips) -> tuple[float, dict[str, float]]:
    """The mentee joins, gets video, leaves: seconds from sending the offer to the first video
    frame, and the server's own join stages when /metrics holds exactly this join's."""
    metrics = f"{base}/metrics"
    before = await scrape(metrics)
    peer = BenchPeer(clips.video, clips.audio, (LOOPBACK.client,))
    socket = CallSocket()
    try:
        await socket.connect(base, demo, "mentee")
        offer = await peer.offer()
        sent = time.monotonic()
        await peer.accept(await socket.negotiate(offer))
        deadline = sent + 20
        while (first := peer.receiver["video"].first_at) is None:
            if time.monotonic() > deadline:
                raise RuntimeError("no video reached the joining participant in 20 s")
            await asyncio.sleep(0.005)
        stages: dict[str, float] = {}
        for _ in range(40):  # the server records its figures a moment later
            after = await scrape(metrics)
            counts = {
                s: after[f"{s}_count"] - before[f"{s}_count"]
                for s in ("ice_connected", "first_video")
            }
            if all(c >= 1 for c in counts.values()):
                break
            await asyncio.sleep(0.05)
        for stage, count in counts.items():
            if count == 1:
                stages[stage] = after[f"{stage}_sum"] - before[f"{stage}_sum"]
        return first - sent, stages
    finally:
        await socket.close(leave=True)
        await peer.close()
        # The server retires the participant, and the next join is a fresh one: the server
        # asks a publisher for a keyframe at most every 0.5 s, and a join right after the
        # last request would wait for the next one (media/participant.py).
        await asyncio.sleep(JOIN_PAUSE_S)


# -- the run --------------------------------------------------------------------------------------


def header(args: argparse.Namespace, place: Place, why_not_ns: str | None) -> None:
    load1, load5, _ = os.getloadavg()
    version = "not installed"
    if shutil.which("janus"):
        out = subprocess.run(["janus", "--version"], capture_output=True, text=True).stdout
        version = out.splitlines()[0] if out else "unknown"
    print(
        f"bench.sfu on {date.today()}: {os.cpu_count()} cores, load average {load1:.2f} {load5:.2f}"
    )
    print(f"janus: {version}")
    if place.ns is not None:
        print(
            f"network: servers in namespace {place.ns.name} at {place.server}, clients at "
            f"{place.client} (veth)"
        )
    else:
        print(f"network: loopback ({why_not_ns}: no namespace, so no Janus)")
    if workers_setting():
        modes = ", ".join(
            "the server's default ([media] workers = -1: one worker per core)"
            if w is None
            else f"{WORKERS_VARIABLE}={w}"
            for w in args.workers
        )
        print(f"micromentor in sections 1 and 2: {modes}; section 3: the first", flush=True)
    else:
        print("micromentor: one process (this tree has no [media] workers setting yet)")


async def run(args: argparse.Namespace, place: Place, folder: Path) -> None:
    started = time.monotonic()
    print("encoding the clips…", flush=True)
    video = encode_vp8(seconds=4, width=640, height=480, kbps=700, gop=60)
    audio = encode_opus(seconds=4)
    clips = Clips(video, audio, folder / "clips.pickle")
    save_clips(clips.path, video, audio)
    if "cpu" in args.parts:
        if place.ns is not None and janus.missing():
            print(f"Janus skipped: {janus.missing()}")
        samples = await cpu_per_call(args, place, clips)
        report_cpu(samples, args.rounds)
    if "joins" in args.parts:
        await join_times(args, clips)
    if "capacity" in args.parts:
        await capacities(args, clips, folder)
    load1, load5, _ = os.getloadavg()
    minutes = (time.monotonic() - started) / 60
    print(f"\ndone in {minutes:.1f} min; load average now {load1:.2f} {load5:.2f}", flush=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="short windows, one round: a smoke check"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=3, help="concurrent calls in section 1")
    parser.add_argument("--seconds", type=float, default=10, help="measuring window, section 1")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--joins", type=int, default=50)
    parser.add_argument("--capacity-start", type=int, default=4)
    parser.add_argument("--capacity-window", type=float, default=10)
    parser.add_argument(
        "--capacity-seconds", type=float, default=300, help="time cap per worker setting"
    )
    parser.add_argument("--load-processes", type=int, default=4)
    parser.add_argument(
        "--workers",
        default="default,0",
        help=f"{WORKERS_VARIABLE} values for sections 1, 2 and 3, comma-separated; 'default' is "
        "the server's own (default: default,0)",
    )
    parser.add_argument(
        "--parts", default="cpu,joins,capacity", help="which sections: cpu,joins,capacity"
    )
    parser.add_argument("--no-netns", action="store_true", help="loopback only, no Janus")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds, args.warmup, args.joins = 1, 4, 2, 10
        args.capacity_start, args.capacity_window, args.capacity_seconds = 2, 4, 60
    args.parts = set(args.parts.split(","))
    args.workers = [None if w == "default" else w for w in args.workers.split(",")]
    if not workers_setting():
        args.workers = [None]
    return args


def stop_on_signals(task: asyncio.Task[Any]) -> None:
    """Ctrl-C or SIGTERM cancels the run, which stops its servers and clients on the way out;
    a second one kills at once (the next run removes a namespace left behind)."""
    loop = asyncio.get_running_loop()

    def stop(number: int) -> None:
        print("\ninterrupted: stopping the servers…", flush=True)
        loop.remove_signal_handler(number)
        task.cancel()

    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop, number)


def stopping() -> None:
    """Raises CancelledError once the run was interrupted, should a wait have turned the
    cancellation into a timeout the loops go on from."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def run_until_stopped(args: argparse.Namespace, place: Place, folder: Path) -> None:
    task = asyncio.current_task()
    assert task is not None
    stop_on_signals(task)
    await run(args, place, folder)


def main() -> None:
    args = parse()
    why_not = "--no-netns" if args.no_netns else netns.unavailable()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-sfu-") as folder:
            if why_not is None:
                with netns.private_network() as ns:
                    place = Place(ns.inner, ns.outer, ns)
                    header(args, place, None)
                    asyncio.run(run_until_stopped(args, place, Path(folder)))
            else:
                header(args, LOOPBACK, why_not)
                asyncio.run(run_until_stopped(args, LOOPBACK, Path(folder)))
    except asyncio.CancelledError:
        print("interrupted: servers stopped, namespace removed", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
