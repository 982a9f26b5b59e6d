"""Two real aiortc peers over loopback through the real Room: encoded media flows both ways."""

from __future__ import annotations

import asyncio
import itertools
import threading
from datetime import datetime, timedelta

from media.events import RoomEvent
from media.room import Room, RoomOptions
from tests.support.media import (
    Clip,
    TestPeer,
    count_keyframe_requests,
    join_room,
    record_estimates,
    wait_for,
)


def an_hour(start: datetime) -> datetime:
    return start + timedelta(hours=1)


async def test_each_side_receives_the_others_encoded_media(
    video_clip: Clip, audio_clip: Clip, room_options: RoomOptions
) -> None:
    room = Room("booking-1", end_time_for=an_hour, options=room_options)
    events: list[RoomEvent] = []
    room.listeners.append(events.append)
    mentor, mentee = TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)
    try:
        await join_room(room, "mentor", mentor)
        await join_room(room, "mentee", mentee)
        await wait_for(
            lambda: (
                all(len(p.received["video"].frames) >= 45 for p in (mentor, mentee))
                and all(len(p.received["audio"].frames) >= 75 for p in (mentor, mentee))
            )
        )
        # Rates over a further second: ~30 video and ~50 audio frames a second each way.
        before = {
            id(p): {k: len(p.received[k].frames) for k in ("audio", "video")}
            for p in (mentor, mentee)
        }
        await asyncio.sleep(1.0)
        for peer in (mentor, mentee):
            video_rate = len(peer.received["video"].frames) - before[id(peer)]["video"]
            audio_rate = len(peer.received["audio"].frames) - before[id(peer)]["audio"]
            assert 24 <= video_rate <= 36, video_rate
            assert 40 <= audio_rate <= 60, audio_rate
    finally:
        await room.close("left")
        await mentor.close()
        await mentee.close()

    sent_video = set(video_clip.payloads)
    sent_audio = set(audio_clip.payloads)
    for peer in (mentor, mentee):
        video = peer.received["video"].frames
        audio = peer.received["audio"].frames
        assert video[0].keyframe, "video must start at a keyframe"
        assert all(f.data in sent_video for f in video), "a video payload changed on the way"
        assert all(f.data in sent_audio for f in audio), "an audio payload changed on the way"
        steps = {b.timestamp - a.timestamp for a, b in itertools.pairwise(video)}
        assert steps == {3000}, f"video RTP timestamps should rise by one frame: {steps}"

    names = [t.name for t in threading.enumerate()]
    assert not any("decoder" in name for name in names), names
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("ParticipantConnected") == 2
    assert "CallStarted" in kinds and kinds[-1] == "CallEnded"


async def test_reconnect_gets_media_again_without_renegotiating_the_other_side(
    video_clip: Clip, audio_clip: Clip, room_options: RoomOptions
) -> None:
    room = Room("booking-2", end_time_for=an_hour, options=room_options)
    mentor, mentee = TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)
    second = TestPeer(video_clip, audio_clip)
    try:
        await join_room(room, "mentor", mentor)
        mentor_pc_before = room.participants["mentor"].pc
        await join_room(room, "mentee", mentee)
        await wait_for(lambda: len(mentor.received["video"].frames) >= 10, what="first video")
        ends_at = room.ends_at

        await mentee.close()  # the mentee's tab reloads: a new peer connection joins the room
        await join_room(room, "mentee", second)
        seen = len(mentor.received["video"].frames)
        await wait_for(lambda: len(second.received["video"].frames) >= 30, what="video again")
        await wait_for(
            lambda: len(mentor.received["video"].frames) >= seen + 30,
            what="the mentor sees the new mentee",
        )
        assert room.participants["mentor"].pc is mentor_pc_before  # no renegotiation
        assert room.ends_at == ends_at  # the timer kept running
        stamps = [f.timestamp for f in mentor.received["video"].frames]
        assert all(b > a for a, b in itertools.pairwise(stamps)), "timestamps went backwards"
    finally:
        await room.close("left")
        for peer in (mentor, mentee, second):
            await peer.close()


async def test_keyframe_requests_reach_the_sender(
    video_clip: Clip, audio_clip: Clip, room_options: RoomOptions
) -> None:
    room = Room("booking-3", end_time_for=an_hour, options=room_options)
    mentor, mentee = TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)
    mentor_plis = count_keyframe_requests(mentor)
    try:
        await join_room(room, "mentor", mentor)
        await join_room(room, "mentee", mentee)
        # The mentee just connected: the server asks the mentor for a keyframe by itself.
        await wait_for(lambda: mentor_plis[0] >= 1, what="a PLI on join")
        await wait_for(lambda: len(mentee.received["video"].frames) >= 5, what="video")
        await asyncio.sleep(0.6)  # past the server's keyframe request throttle
        before = mentor_plis[0]
        # The mentee's decoder lost a picture: its PLI travels through the SFU to the mentor.
        receiver = next(t.receiver for t in mentee.pc.getTransceivers() if t.kind == "video")
        assert receiver.getSynchronizationSources()
        await receiver.request_keyframe()
        await wait_for(lambda: mentor_plis[0] > before, what="the relayed PLI")
    finally:
        await room.close("left")
        await mentor.close()
        await mentee.close()


async def test_the_subscribers_bandwidth_estimate_reaches_the_publisher(
    video_clip: Clip, audio_clip: Clip, room_options: RoomOptions
) -> None:
    room = Room("booking-4", end_time_for=an_hour, options=room_options)
    mentor, mentee = TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)
    estimates = record_estimates(mentor)
    try:
        await join_room(room, "mentor", mentor)
        await join_room(room, "mentee", mentee)
        await wait_for(lambda: len(mentee.received["video"].frames) >= 5, what="video")
        # The mentee's browser estimates what reaches it and says so to the SFU (a REMB)...
        receiver = next(t.receiver for t in mentee.pc.getTransceivers() if t.kind == "video")
        await receiver.send_estimate(850_000)
        # ...and the SFU passes it on to the mentor's browser, which may send that much.
        await wait_for(lambda: bool(estimates), what="the relayed REMB")
        assert abs(estimates[0] - 850_000) < 850_000 * 0.01  # REMB's mantissa rounds
    finally:
        await room.close("left")
        await mentor.close()
        await mentee.close()
