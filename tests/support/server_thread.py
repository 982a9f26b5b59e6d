"""The real app served on loopback from a thread of its own, so that synchronous tests
(hypothesis's) can drive it with fresh clients and look inside its event loop between examples."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from aiohttp import web

from server.app import create_app
from server.config import Config
from tests.conftest import FAST_PASSWORDS
from tests.support.media import PeerConnections, tracked_peer_connections
from tests.support.net import free_port

T = TypeVar("T")


class ServerThread:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._stack = contextlib.ExitStack()
        self.connections = PeerConnections()

    def __enter__(self) -> ServerThread:
        self.connections = self._stack.enter_context(tracked_peer_connections())
        self._thread.start()
        self.call(self._start())
        return self

    def __exit__(self, *_exc: object) -> None:
        self.call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
        self._stack.close()

    async def _start(self) -> None:
        self.app = create_app(self.config, passwords=FAST_PASSWORDS)
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Runs `coroutine` on the server's loop and returns its result."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    def tasks(self) -> int:
        return len(self.task_names())

    def task_names(self) -> list[str]:
        """What the server's loop is running, less the call that asks and the timeouts its
        background loops wait on (asyncio.wait_for wraps Event.wait in a task of its own,
        every half second)."""

        async def names() -> list[str]:
            me = asyncio.current_task()
            found = (repr(t.get_coro()) for t in asyncio.all_tasks() if t is not me)
            return sorted(name for name in found if "Event.wait" not in name)

        return self.call(names())

    def peer_connections(self) -> int:
        """The server's peer connections that are not closed."""

        async def count() -> int:
            return self.connections.open()

        return self.call(count())


class ErrorLog(logging.Handler):
    """Collects records at ERROR and above, and anything carrying a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def __enter__(self) -> ErrorLog:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        logging.getLogger().removeHandler(self)
