"""One media worker process, seen from the main process: started with a socket pair, read until
it goes away, stopped politely (then by force), and its CPU time read from /proc."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from media.workers.wire import LINE_LIMIT, Channel

log = logging.getLogger("micromentor.media.workers")
START_SECONDS = 30.0  # importing aiortc and av takes about a second; a loaded box, longer
STOP_SECONDS = 5.0
TICKS = os.sysconf("SC_CLK_TCK")

OnMessage = Callable[["WorkerProcess", dict[str, Any]], None]


class WorkerFailed(Exception):
    """A worker process did not start."""


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, all threads (as bench/processes.py reads it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def exit_reason(returncode: int | None) -> str:
    if returncode is None:
        return "went away"
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


class WorkerProcess:
    def __init__(self, index: int, on_message: OnMessage, log_level: str = "INFO") -> None:
        self.index = index
        self.pid = 0
        self.started = 0.0  # monotonic
        self.alive = False
        self.report: dict[str, Any] = {}  # the worker's last report (wire.py)
        self.cpu_at_exit = 0.0
        self._on_message = on_message
        self._log_level = log_level
        self._proc: asyncio.subprocess.Process | None = None
        self._channel: Channel | None = None
        self._reader: asyncio.Task[None] | None = None
        self.exited: asyncio.Future[int | None] | None = None

    async def start(self) -> None:
        """Spawns the worker and waits for its hello; WorkerFailed if it never says it."""
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "media.workers.worker",
                f"--fd={theirs.fileno()}",
                f"--index={self.index}",
                f"--parent={os.getpid()}",
                f"--log-level={self._log_level}",
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self.pid = self._proc.pid
        self.started = time.monotonic()
        reader, writer = await asyncio.open_unix_connection(sock=ours, limit=LINE_LIMIT)
        self._channel = Channel(reader, writer)
        self.exited = loop.create_future()
        try:
            hello = await asyncio.wait_for(self._channel.receive(), START_SECONDS)
        except TimeoutError:
            hello = None
        except BaseException:  # cancelled (the server stops while a worker restarts)
            await self.kill()
            raise
        if hello is None or "hello" not in hello:
            await self.kill()
            raise WorkerFailed(
                f"media worker {self.index} did not start ({exit_reason(self._proc.returncode)});"
                " its log is above"
            )
        self.alive = True
        self._reader = loop.create_task(self._read(), name=f"media-worker-{self.index}")

    def send(self, message: dict[str, Any]) -> None:
        if self.alive and self._channel is not None:
            self._channel.send(message)

    async def drain(self) -> None:
        if self.alive and self._channel is not None:
            with contextlib.suppress(ConnectionError):
                await self._channel.drain()

    async def _read(self) -> None:
        assert self._channel is not None and self._proc is not None and self.exited is not None
        try:
            while (message := await self._channel.receive()) is not None:
                if "report" in message:
                    self.report = message["report"]
                try:
                    self._on_message(self, message)
                except Exception:
                    log.exception("media worker %d: a message could not be handled", self.index)
        finally:
            self.cpu_at_exit = self.cpu_seconds()
            self.alive = False
            self._channel.close()
            returncode = await self._proc.wait()
            if not self.exited.done():
                self.exited.set_result(returncode)

    def cpu_seconds(self) -> float:
        if not self.alive:
            return self.cpu_at_exit
        try:
            return cpu_seconds(self.pid)
        except (OSError, IndexError, ValueError):
            return self.cpu_at_exit

    async def stop(self) -> None:
        """Asks the worker to close its rooms and exit; kills it if it has not after a while."""
        if self._proc is None or self.exited is None:
            return
        self.send({"op": "shutdown"})
        await self.drain()
        try:
            await asyncio.wait_for(asyncio.shield(self.exited), STOP_SECONDS)
        except TimeoutError:
            log.warning("media worker %d did not stop in time: killing it", self.index)
            await self.kill()

    async def kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=STOP_SECONDS)
        elif self._channel is not None:  # it never started: nobody reads the socket
            self._channel.close()
