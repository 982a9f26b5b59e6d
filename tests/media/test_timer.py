"""CallTimer with a clock moved by hand: warning at end minus the warning, then the end."""

from __future__ import annotations

from datetime import datetime, timedelta

from media.timer import CallTimer
from tests.support.clock import ManualClock


async def test_warning_then_end_at_the_right_times() -> None:
    clock = ManualClock()
    start = clock.now()
    seen: list[tuple[str, datetime, int]] = []

    async def warn(remaining_ms: int) -> None:
        seen.append(("warning", clock.now(), remaining_ms))

    async def end() -> None:
        seen.append(("end", clock.now(), 0))

    timer = CallTimer(
        start + timedelta(seconds=600),
        60,
        on_warning=warn,
        on_end=end,
        now=clock.now,
        sleep=clock.sleep,
    )
    timer.start()
    await clock.advance(0)
    await clock.advance(539)
    assert seen == []
    assert timer.remaining_ms() == 61_000
    await clock.advance(1)
    assert seen == [("warning", start + timedelta(seconds=540), 60_000)]
    await clock.advance(59.9)
    assert len(seen) == 1
    await clock.advance(0.1)
    assert seen[-1] == ("end", start + timedelta(seconds=600), 0)


async def test_a_timer_started_late_warns_at_once_and_ends_on_time() -> None:
    clock = ManualClock()
    seen: list[str] = []

    async def warn(remaining_ms: int) -> None:
        seen.append(f"warning {remaining_ms}")

    async def end() -> None:
        seen.append("end")

    timer = CallTimer(
        clock.now() + timedelta(seconds=30),
        60,
        on_warning=warn,
        on_end=end,
        now=clock.now,
        sleep=clock.sleep,
    )
    timer.start()
    await clock.advance(0)
    assert seen == ["warning 30000"]
    await clock.advance(30)
    assert seen == ["warning 30000", "end"]


async def test_a_timer_past_its_end_ends_at_once() -> None:
    clock = ManualClock()
    ended: list[bool] = []

    async def end() -> None:
        ended.append(True)

    async def warn(_ms: int) -> None:
        raise AssertionError("no warning after the end")

    CallTimer(
        clock.now() - timedelta(seconds=1),
        60,
        on_warning=warn,
        on_end=end,
        now=clock.now,
        sleep=clock.sleep,
    ).start()
    await clock.advance(0)
    assert ended == [True]
