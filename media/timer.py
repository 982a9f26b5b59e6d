"""The call's clock. The server, not the browser, decides when a call ends.

`now` and `sleep` are injected: tests pass a fake clock whose sleep moves time, and a ten-minute
call runs in milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

Now = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]

# Wall-clock time can jump (NTP); never sleep longer than this before looking again.
MAX_NAP_SECONDS = 5.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class CallTimer:
    def __init__(
        self,
        ends_at: datetime,
        warning_seconds: float,
        *,
        on_warning: Callable[[int], Awaitable[None]],
        on_end: Callable[[], Awaitable[None]],
        now: Now = utc_now,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.ends_at = ends_at
        self.warning_seconds = warning_seconds
        self._on_warning = on_warning
        self._on_end = on_end
        self._now = now
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None

    def remaining_ms(self) -> int:
        return max(0, int((self.ends_at - self._now()).total_seconds() * 1000))

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="call-timer")

    def cancel(self) -> None:
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    async def _run(self) -> None:
        warned = False
        while True:
            remaining = (self.ends_at - self._now()).total_seconds()
            if remaining <= 0:
                await self._on_end()
                return
            if not warned and remaining <= self.warning_seconds:
                warned = True
                await self._on_warning(int(remaining * 1000))
                continue
            until_next = remaining if warned else remaining - self.warning_seconds
            await self._sleep(min(until_next, MAX_NAP_SECONDS))
