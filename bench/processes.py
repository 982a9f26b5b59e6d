"""What the benchmarks share: running a server as a subprocess until it serves, and reading
a process's CPU time from /proc."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from media.workers.process import cpu_seconds

ROOT = Path(__file__).resolve().parents[1]


def tree_cpu_seconds(pid: int) -> tuple[float, int]:
    """CPU time of `pid` and of every live process under it (media workers), and how many
    processes that is."""
    total, count, pending = 0.0, 0, [pid]
    while pending:
        current = pending.pop()
        try:
            total += cpu_seconds(current)
            for children in Path(f"/proc/{current}/task").glob("*/children"):
                pending.extend(int(child) for child in children.read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue  # gone meanwhile
        count += 1
    return total, count


async def wait_http(url: str, proc: asyncio.subprocess.Process, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if proc.returncode is not None:
                raise RuntimeError(f"the process serving {url} exited ({proc.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def process(
    args: list[str], env: dict[str, str], ready_url: str, log: Path | None = None
) -> AsyncIterator[int]:
    """Runs `args` (stderr into `log`, or nowhere) until the block ends; yields its pid once it
    serves."""
    with contextlib.ExitStack() as files:
        stderr = files.enter_context(log.open("w")) if log else asyncio.subprocess.DEVNULL
        proc = await asyncio.create_subprocess_exec(
            *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr
        )
    try:
        try:
            await wait_http(ready_url, proc)
        except RuntimeError as exc:
            tail = "\n".join(log_summary(log)[-20:]) if log else "(not kept)"
            raise RuntimeError(f"{exc}; its log ends:\n{tail}") from None
        yield proc.pid
    finally:
        if proc.returncode is None:
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def log_summary(path: Path) -> list[str]:
    """What the process wrote to stderr: the server logs at warning and above."""
    if not path.exists():
        return []
    return [line.rstrip() for line in path.read_text(errors="replace").splitlines() if line]


# -- seeding -----------------------------------------------------------------------------------


def server_env(data_dir: str, port: int, **extra: str) -> dict[str, str]:
    """This environment without MICROMENTOR_*, plus a server on `port` keeping its data in
    `data_dir`, quiet below warnings, gathering ICE on loopback only, with the media in the
    server's own process ([media] workers = 0: its CPU is the server's), and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROMENTOR_")}
    env.update(
        MICROMENTOR_SERVER_DATA_DIR=data_dir,
        MICROMENTOR_SERVER_PORT=str(port),
        MICROMENTOR_SERVER_LOG_LEVEL="warning",
        MICROMENTOR_MEDIA_ICE_ADDRESSES="127.0.0.1",
        MICROMENTOR_MEDIA_WORKERS="0",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env
