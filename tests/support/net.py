"""Loopback addresses for tests and benchmarks, and waiting for a server to answer."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from collections.abc import Callable

import aiohttp


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def until_healthy(
    url: str,
    process: subprocess.Popen[bytes],
    *,
    seconds: float = 30,
    why_not: Callable[[], str] = str,
) -> None:
    """Waits until `url` (a /healthz) answers 200, failing at once if `process` (what serves
    it) exits; `why_not()` is shown on failure (a log's tail, say)."""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"{url}: the process exited. {why_not()}"
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {seconds} s. {why_not()}")
