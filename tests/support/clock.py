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
