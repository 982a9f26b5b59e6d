"""Soak: many short calls back to back against one server; does anything leak?

    .venv/bin/python -m bench.soak [--calls 20] [--minutes 30] [--call-seconds 20] [--postgres]

Starts the real server (`python -m server serve`, media in its own process, calls of
--call-seconds each) and keeps --calls concurrent 1:1 calls of real aiortc peers going in
waves: each wave makes that many demo calls, joins both sides of each through the call
socket, lets the server end them on time, and starts the next, for --minutes. So a 30-minute
run makes hundreds of joins and ends. The clip is small (320x240 VP8 at ~200 kbps and Opus) so
that the load generator leaves the server a core on a small machine.

It prints the server's resident memory, open file descriptors and asyncio tasks after the
warm-up (the first two waves) and at the end, and their change; goal: each within 10% (no
leak). Tasks come from /metrics (micromentor_asyncio_tasks), the rest from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.calls import Pair, join_demo
from bench.processes import process, server_env
from tests.support.media import Clip, encode_opus, encode_vp8
from tests.support.net import free_port


@dataclass
class Reading:
    rss_mb: float
    fds: int
    tasks: float


def read(pid: int, tasks: float) -> Reading:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return Reading(rss_kb / 1024, len(os.listdir(f"/proc/{pid}/fd")), tasks)


async def tasks(session: aiohttp.ClientSession, base: str) -> float:
    async with session.get(f"{base}/metrics") as response:
        text = await response.text()
    for family in text_string_to_metric_families(text):
        if family.name == "micromentor_asyncio_tasks":
            return sum(s.value for s in family.samples)
    raise RuntimeError("the server has no micromentor_asyncio_tasks gauge")


def make_demo_calls(env: dict[str, str], count: int) -> list[dict[str, Any]]:
    """`count` demo calls made as `server demo-call` makes one, in this process (one Python
    start-up per wave, not per call)."""
    from server.accounts.passwords import Passwords
    from server.accounts.service import Accounts
    from server.calls.demo import create_demo_call
    from server.clock import utc_now
    from server.config import load_config
    from server.db.engine import Database
    from server.keys import derive, load_or_create

    config = load_config(None, env)

    async def create() -> list[dict[str, Any]]:
        db = Database(config.database_url, busy_timeout_ms=config.database.busy_timeout_ms)
        try:
            accounts = Accounts(db, Passwords(), config.auth, utc_now)
            secret = config.server.secret_key or load_or_create(config.data_dir / "secret_key")
            key = derive(secret, "demo login")
            return [asdict(await create_demo_call(accounts, config, key)) for _ in range(count)]
        finally:
            await db.close()

    return asyncio.run(create())


async def wave(
    base: str, env: dict[str, str], calls: int, seconds: float, video: Clip, audio: Clip
) -> int:
    """One wave of `calls` concurrent calls, joined, left to end on the server's timer."""
    loop = asyncio.get_running_loop()
    demos = await loop.run_in_executor(None, make_demo_calls, env, calls)
    pairs = [Pair(video, audio) for _ in demos]
    try:
        await asyncio.gather(*(join_demo(base, d, p) for d, p in zip(demos, pairs, strict=True)))
        await asyncio.sleep(seconds + 2)  # the server ends each call on time
    finally:
        await asyncio.gather(*(p.close() for p in pairs), return_exceptions=True)
    return 2 * len(pairs)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="concurrent calls per wave")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--call-seconds", type=int, default=20)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="keep the data in a throwaway PostgreSQL server instead of SQLite",
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        database = {}
        if args.postgres:
            from tests.support.postgres import running_postgres

            database["MICROMENTOR_DATABASE_URL"] = stack.enter_context(running_postgres())
        await soak(args, database)


async def soak(args: argparse.Namespace, database: dict[str, str]) -> None:
    print("encoding the clips…", flush=True)
    video = encode_vp8(seconds=4, width=320, height=240, kbps=200, gop=60)
    audio = encode_opus(seconds=4)
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = server_env(
            data_dir,
            port,
            MICROMENTOR_CALLS_DURATION_SECONDS=str(args.call_seconds),
            MICROMENTOR_CALLS_WARNING_SECONDS="5",
            MICROMENTOR_CALLS_MIN_COMPLETED_SECONDS="5",
            MICROMENTOR_METRICS_ALLOW="127.0.0.1",
            **database,
        )
        base = f"http://127.0.0.1:{port}"
        args_ = [sys.executable, "-m", "server", "serve"]
        async with process(args_, env, f"{base}/healthz") as pid, aiohttp.ClientSession() as web:
            started = time.monotonic()
            joins = waves = 0
            warm: Reading | None = None
            while time.monotonic() - started < args.minutes * 60:
                joins += await wave(base, env, args.calls, args.call_seconds, video, audio)
                waves += 1
                await asyncio.sleep(1)  # let the ends settle before reading
                if waves == 2:
                    warm = read(pid, await tasks(web, base))
                    print(f"after warm-up ({waves} waves, {joins} joins): {warm}", flush=True)
                elif waves % 5 == 0:
                    now = read(pid, await tasks(web, base))
                    minutes = (time.monotonic() - started) / 60
                    print(f"{minutes:5.1f} min, {waves} waves, {joins} joins: {now}", flush=True)
            end = read(pid, await tasks(web, base))
    assert warm is not None, "run longer than two waves"
    print(f"\n{waves} waves of {args.calls} concurrent calls, {joins} joins, in {args.minutes} min")
    print(f"{'':12}{'warm':>10}{'end':>10}{'change':>10}")
    for name in ("rss_mb", "fds", "tasks"):
        a, b = getattr(warm, name), getattr(end, name)
        change = 100 * (b - a) / a if a else 0.0
        verdict = "ok" if abs(change) <= 10 else "MORE THAN 10%"
        print(f"{name:12}{a:>10.1f}{b:>10.1f}{change:>+9.1f}%  {verdict}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
