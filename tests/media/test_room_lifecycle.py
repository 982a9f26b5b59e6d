"""The server ends calls: warning, then `time_up` with both peer connections closed."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from media.events import CallEnded, CallStarted, CallWarning, RoomEvent
from media.room import Room, RoomClosed, RoomOptions
from tests.support.clock import ManualClock
from tests.support.media import Clip, TestPeer, join_room, wait_for


def ten_minute_booking(clock: ManualClock) -> tuple[datetime, Callable[[datetime], datetime]]:
    """A booking ending ten minutes from now, and the server's rule for a call's end: ten
    minutes from the start, but never past the booked end plus five minutes of grace."""
    booked_end = clock.now() + timedelta(minutes=10)

    def end_time_for(start: datetime) -> datetime:
        return min(start + timedelta(seconds=600), booked_end + timedelta(seconds=300))

    return booked_end, end_time_for


async def test_a_ten_minute_call_on_a_clock_moved_by_hand(
    video_clip: Clip, audio_clip: Clip, room_options: RoomOptions
) -> None:
    clock = ManualClock()
    _booked_end, end_time_for = ten_minute_booking(clock)

    room = Room(
        "b-10", end_time_for=end_time_for, options=room_options, now=clock.now, sleep=clock.sleep
    )
    events: list[RoomEvent] = []
    room.listeners.append(events.append)
    mentor, mentee = TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)
    try:
        await join_room(room, "mentor", mentor)
        await clock.advance(120)  # the mentee is two minutes late: the paid time starts later
        await join_room(room, "mentee", mentee)
        await wait_for(lambda: any(isinstance(e, CallStarted) for e in events), what="start")
        started = next(e for e in events if isinstance(e, CallStarted))
        assert started.started_at == clock.now()
        assert started.ends_at == clock.now() + timedelta(seconds=600)
        participants = list(room.participants.values())

        await clock.advance(539)
        assert not any(isinstance(e, CallWarning) for e in events)
        await clock.advance(1)
        warnings = [e for e in events if isinstance(e, CallWarning)]
        assert [w.remaining_ms for w in warnings] == [60_000]
        await clock.advance(60)
        await wait_for(lambda: any(isinstance(e, CallEnded) for e in events), what="the end")
        ended = [e for e in events if isinstance(e, CallEnded)]
        assert len(ended) == 1
        assert ended[0].reason == "time_up"
        assert ended[0].ended_at == started.ends_at
        assert all(p.pc.connectionState == "closed" for p in participants)
        late = TestPeer(video_clip, audio_clip)
        with pytest.raises(RoomClosed):
            await room.join("mentee", await late.offer())
        await late.close()
    finally:
        await room.close("left")
        await mentor.close()
        await mentee.close()


async def test_the_end_is_capped_by_the_grace_after_the_booked_end(
    video_clip: Clip, audio_clip: Clip, room_options: RoomOptions
) -> None:
    clock = ManualClock()
    booked_end, end_time_for = ten_minute_booking(clock)

    room = Room(
        "b-grace", end_time_for=end_time_for, options=room_options, now=clock.now, sleep=clock.sleep
    )
    await clock.advance(13 * 60)  # both arrive 13 minutes into a 10-minute booking
    mentor, mentee = TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)
    try:
        await join_room(room, "mentor", mentor)
        await join_room(room, "mentee", mentee)
        await wait_for(lambda: room.ends_at is not None, what="start")
        assert room.ends_at == booked_end + timedelta(seconds=300)
    finally:
        await room.close("left")
        await mentor.close()
        await mentee.close()


async def test_a_real_five_second_call_ends_on_time(
    video_clip: Clip, audio_clip: Clip, room_options: RoomOptions
) -> None:
    room = Room(
        "b-5s",
        end_time_for=lambda start: start + timedelta(seconds=5),
        options=RoomOptions(warning_seconds=2, ice_addresses=room_options.ice_addresses),
    )
    events: list[tuple[float, RoomEvent]] = []
    room.listeners.append(lambda e: events.append((time.monotonic(), e)))
    mentor, mentee = TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)
    try:
        await join_room(room, "mentor", mentor)
        await join_room(room, "mentee", mentee)
        await wait_for(lambda: room.ended is not None, seconds=20, what="the end")
    finally:
        await room.close("left")
        await mentor.close()
        await mentee.close()
    started = next(t for t, e in events if isinstance(e, CallStarted))
    warned = next(t for t, e in events if isinstance(e, CallWarning))
    ended = next(t for t, e in events if isinstance(e, CallEnded))
    assert 2.5 <= warned - started <= 3.6
    assert 4.8 <= ended - started <= 5.6
    assert room.ended == "time_up"
    assert len(mentee.received["video"].frames) > 60
