"""Free slots across time zones and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from server.booking.slots import SlotRules, Span, Window, free_slots, local_instant

NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
RULES = SlotRules(
    duration=timedelta(minutes=10),
    buffer=timedelta(minutes=5),
    min_notice=timedelta(minutes=30),
    horizon=timedelta(days=30),
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_slots_follow_each_other_at_duration_plus_buffer() -> None:
    monday_evening = [Window(0, 18 * 60, 19 * 60)]
    slots = free_slots(
        monday_evening,
        KOLKATA,
        busy=[],
        rules=RULES,
        start=utc(2026, 11, 23),
        end=utc(2026, 11, 24),
        now=utc(2026, 11, 1),
    )
    local = [s.start.astimezone(KOLKATA).strftime("%H:%M") for s in slots]
    assert local == ["18:00", "18:15", "18:30", "18:45"]
    assert all(s.end - s.start == timedelta(minutes=10) for s in slots)


def test_a_new_york_mentor_across_the_march_change_seen_from_kolkata() -> None:
    # US clocks spring forward on Sunday 2026-03-08 at 02:00 local (EST -5 -> EDT -4).
    windows = [
        Window(5, 9 * 60, 9 * 60 + 30),  # Saturdays 09:00-09:30
        Window(6, 1 * 60 + 30, 3 * 60 + 30),  # Sundays 01:30-03:30, across the gap
        Window(0, 9 * 60, 9 * 60 + 30),  # Mondays 09:00-09:30
    ]
    slots = free_slots(
        windows,
        NEW_YORK,
        busy=[],
        rules=RULES,
        start=utc(2026, 3, 7),
        end=utc(2026, 3, 10),
        now=utc(2026, 2, 20),
    )
    in_new_york = [s.start.astimezone(NEW_YORK).strftime("%a %H:%M") for s in slots]
    assert in_new_york == [
        "Sat 09:00",
        "Sat 09:15",
        "Sun 01:30",
        "Sun 01:45",  # 02:00-02:59 does not exist that night
        "Sun 03:00",
        "Sun 03:15",
        "Mon 09:00",
        "Mon 09:15",
    ]
    saturday, monday = slots[0], slots[-2]
    assert saturday.start == utc(2026, 3, 7, 14, 0)  # EST: UTC-5
    assert monday.start == utc(2026, 3, 9, 13, 0)  # EDT: UTC-4
    # A mentee in India sees the same instants in IST (UTC+5:30, no DST there).
    assert saturday.start.astimezone(KOLKATA).strftime("%a %H:%M") == "Sat 19:30"
    assert monday.start.astimezone(KOLKATA).strftime("%a %H:%M") == "Mon 18:30"
    # No slot straddles the gap: each is exactly ten real minutes.
    assert all(s.end - s.start == timedelta(minutes=10) for s in slots)


def test_the_november_change_gives_the_ambiguous_hour_once() -> None:
    # Clocks fall back on Sunday 2026-11-01 at 02:00 EDT -> 01:00 EST.
    slots = free_slots(
        [Window(6, 60, 90)],
        NEW_YORK,
        busy=[],
        rules=RULES,
        start=utc(2026, 11, 1),
        end=utc(2026, 11, 2),
        now=utc(2026, 10, 20),
    )
    assert [s.start for s in slots] == [utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 5, 15)]


def test_busy_time_notice_and_horizon_remove_slots() -> None:
    window = [Window(0, 9 * 60, 11 * 60)]
    booked = Span(utc(2026, 11, 23, 3, 58), utc(2026, 11, 23, 4, 8))  # 09:28-09:38 IST
    slots = free_slots(
        window,
        KOLKATA,
        busy=[booked],
        rules=RULES,
        start=utc(2026, 11, 23),
        end=utc(2026, 11, 24),
        now=utc(2026, 11, 20),
    )
    local = [s.start.astimezone(KOLKATA).strftime("%H:%M") for s in slots]
    # 09:15 ends at 09:25, less than the 5-minute buffer before 09:28; 09:45 is clear.
    assert "09:00" in local and "09:15" not in local and "09:30" not in local
    assert "09:45" in local
    soon = free_slots(
        window,
        KOLKATA,
        busy=[],
        rules=RULES,
        start=utc(2026, 11, 23),
        end=utc(2026, 11, 24),
        now=utc(2026, 11, 23, 3, 40),
    )  # 09:10 IST
    assert soon[0].start.astimezone(KOLKATA).strftime("%H:%M") == "09:45"  # 30 min notice
    far = free_slots(
        window,
        KOLKATA,
        busy=[],
        rules=RULES,
        start=utc(2027, 1, 4),
        end=utc(2027, 1, 5),
        now=utc(2026, 11, 20),
    )
    assert far == []  # past the 30-day horizon


def test_local_instant_gap_and_midnight() -> None:
    assert local_instant(datetime(2026, 3, 8).date(), (2 * 60 + 30) * 60, NEW_YORK) is None
    assert local_instant(datetime(2026, 3, 8).date(), 86400, KOLKATA) == utc(2026, 3, 8, 18, 30)


def test_calls_shorter_than_a_minute_still_get_slots() -> None:
    rules = SlotRules(
        duration=timedelta(seconds=8),
        buffer=timedelta(0),
        min_notice=timedelta(0),
        horizon=timedelta(days=1),
    )
    slots = free_slots(
        [Window(5, 600, 601)],
        KOLKATA,
        busy=[],
        rules=rules,
        start=utc(2026, 11, 21),
        end=utc(2026, 11, 22),
        now=utc(2026, 11, 21),
    )
    assert len(slots) == 7 and slots[1].start - slots[0].start == timedelta(seconds=8)
