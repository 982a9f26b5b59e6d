"""A clock tests move by hand: `sleep` waits until `advance` has moved time past its end."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


class ManualClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.current + timedelta(seconds=seconds), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Moves time on, wakes the sleepers that are due, and lets them run."""
        self.current += timedelta(seconds=seconds)
        due = [(at, f) for at, f in self._sleepers if at <= self.current]
        self._sleepers = [(at, f) for at, f in self._sleepers if at > self.current]
        for _at, future in due:
            if not future.done():
                future.set_result(None)
        for _ in range(20):  # let woken tasks (and what they start) run
            await asyncio.sleep(0)


class SkipClock:
    """Real time that a test can move forward: `skip` jumps ahead and wakes every `sleep`, so
    the call timer looks at the time again at once (it sleeps at most five seconds anyway).
    Browser tests use it to reach a call's end without waiting for it, once they have seen
    what they wanted to see in the call."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self._sleepers: set[asyncio.Future[None]] = set()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(max(seconds, 0), _wake, future)
        self._sleepers.add(future)
        try:
            await future
        finally:
            timer.cancel()
            self._sleepers.discard(future)

    def skip(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)
        for future in list(self._sleepers):
            _wake(future)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
