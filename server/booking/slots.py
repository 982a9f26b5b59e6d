"""Free call slots, computed from weekly windows in the mentor's own time zone. Never stored.

Windows are wall-clock times ("Mondays 18:00-20:00 in America/New_York"), so a slot keeps its
local time across a daylight-saving change and its UTC instant moves. A local time that does
not exist that day (the spring-forward gap) gives no slot; an ambiguous one (fall back) gives
one slot, at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    weekday: int  # 0 is Monday, as datetime.weekday()
    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class SlotRules:
    duration: timedelta
    buffer: timedelta
    min_notice: timedelta
    horizon: timedelta


def local_instant(day: date, second: int, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of a wall-clock time (seconds after midnight) on `day` in `zone`;
    None inside a DST gap. 86400 is the next midnight."""
    wall = datetime.combine(day, time(0, 0)) + timedelta(seconds=second)
    local = wall.replace(tzinfo=zone, fold=0)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        return None  # skipped by the clock change
    return instant


def free_slots(
    windows: Iterable[Window],
    zone: ZoneInfo,
    *,
    busy: Iterable[Span],
    rules: SlotRules,
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[Span]:
    """Bookable slots starting in [start, end), soonest first.

    `busy` is what the mentor already has: blocked periods and live bookings. A slot needs
    `rules.buffer` clear of every booking on both sides; slots inside one window follow each
    other at duration + buffer.
    """
    earliest = max(start, now + rules.min_notice)
    latest = min(end, now + rules.horizon)
    if earliest >= latest:
        return []
    busy = list(busy)
    step = rules.duration + rules.buffer
    by_weekday: dict[int, list[Window]] = {}
    for window in windows:
        by_weekday.setdefault(window.weekday, []).append(window)
    slots: set[Span] = set()
    # Local days that can hold a slot in range: one day of margin for every offset.
    day = earliest.astimezone(zone).date() - timedelta(days=1)
    last_day = latest.astimezone(zone).date() + timedelta(days=1)
    while day <= last_day:
        for window in by_weekday.get(day.weekday(), ()):
            second = window.start_minute * 60
            step_seconds = max(int(step.total_seconds()), 1)
            duration_seconds = int(rules.duration.total_seconds())
            while second + duration_seconds <= window.end_minute * 60:
                slot_start = local_instant(day, second, zone)
                slot_end = local_instant(day, second + duration_seconds, zone)
                second += step_seconds
                if slot_start is None or slot_end is None:
                    continue
                if slot_end - slot_start != rules.duration:
                    continue  # a clock change inside the slot
                if not earliest <= slot_start < latest:
                    continue
                guarded = Span(slot_start - rules.buffer, slot_end + rules.buffer)
                if any(guarded.overlaps(b) for b in busy):
                    continue
                slots.add(Span(slot_start, slot_end))
        day += timedelta(days=1)
    return sorted(slots, key=lambda s: s.start)
