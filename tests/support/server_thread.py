"""The real app served on loopback from a thread of its own, so that synchronous tests
(hypothesis's) can drive it with fresh clients and look inside its event loop between examples."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from datetime import timedelta
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from server.app import create_app
from server.calls.service import CALLS
from server.config import Config
from server.db.models import Booking
from tests.conftest import FAST_PASSWORDS, PASSWORD
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


def mentee_with_a_booking(server: ServerThread, starts_in: timedelta) -> tuple[str, int]:
    """Registers a mentor (user 1) and a mentee (user 2) on a fresh served app, logs the mentee
    in, and writes a confirmed booking between them starting `starts_in` from now. Returns the
    mentee's login cookie and the booking's id."""

    async def register() -> str:
        async with aiohttp.ClientSession(
            server.url, cookie_jar=aiohttp.CookieJar(unsafe=True)
        ) as session:
            for email, role in (("mentor@example.org", "mentor"), ("mentee@example.org", "mentee")):
                body = {"email": email, "password": PASSWORD, "name": role.title(), "role": role}
                async with session.post("/api/auth/register", json=body) as response:
                    assert response.status == 201
            login = {"email": "mentee@example.org", "password": PASSWORD}
            async with session.post("/api/auth/login", json=login) as response:
                assert response.status == 200
            return next(c.value for c in session.cookie_jar if c.key == "micromentor")

    async def book() -> int:
        assert server.app is not None
        calls = server.app[CALLS]
        async with calls.db.write() as s:
            booking = Booking(
                mentor_id=1,
                mentee_id=2,
                starts_at=calls.clock() + starts_in,
                duration_seconds=600,
                status="confirmed",
                topic="Custom",
                agenda="",
                amount_paise=10000,
                created_at=calls.clock() - timedelta(days=1),
            )
            s.add(booking)
            await s.flush()
            return booking.id

    cookie = asyncio.run(register())
    return cookie, server.call(book())
