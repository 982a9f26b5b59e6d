"""Weak networks and screen sharing through the real app: the call socket, the SFU, aiortc peers.

The mentee's aiortc peer sends the SFU real RTCP REMB packets (its receiver packs them with
aiortc's pack_remb_fci and sends them on its transport; a TestPeer estimates nothing by itself,
so these are the only estimates the SFU gets for the mentee).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from media import forwarder as forwarder_module
from media.aiortc_glue import ForwardingReceiver
from server.calls.service import CALLS
from tests.integration.conftest import Site
from tests.support.calls import CallParticipant, add_booking
from tests.support.media import Clip, count_keyframe_requests, wait_for

Pair = tuple[CallParticipant, CallParticipant, int]


@pytest.fixture
async def pair(site: Site, video_clip: Clip, audio_clip: Clip) -> AsyncIterator[Pair]:
    mentor_client, mentor_id = await site.user("mentor@example.org", "mentor")
    mentee_client, mentee_id = await site.user("mentee@example.org", "mentee")
    booking_id = await add_booking(mentor_client, mentor_id, mentee_id)
    mentor = CallParticipant(mentor_client, video_clip, audio_clip)
    mentee = CallParticipant(mentee_client, video_clip, audio_clip)
    yield mentor, mentee, booking_id
    await mentor.close()
    await mentee.close()


def video_receiver(participant: CallParticipant) -> ForwardingReceiver:
    receiver = next(t.receiver for t in participant.peer.pc.getTransceivers() if t.kind == "video")
    assert isinstance(receiver, ForwardingReceiver)
    return receiver


class AudioWatch:
    """Samples how many audio frames a peer has received, every 100 ms."""

    def __init__(self, participant: CallParticipant) -> None:
        self.frames = participant.peer.received["audio"].frames
        self.samples: list[tuple[float, int]] = []
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.samples.append((time.monotonic(), len(self.frames)))
            await asyncio.sleep(0.1)

    def longest_silence(self) -> float:
        """The longest stretch in which no new audio frame arrived."""
        longest, since, count = 0.0, self.samples[0][0], self.samples[0][1]
        for at, seen in self.samples[1:]:
            if seen > count:
                since, count = at, seen
            longest = max(longest, at - since)
        return longest

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


@pytest.fixture
async def trust_estimates_at_once(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    # Browsers' first estimates are low, so the SFU ignores a new subscriber's for 5 s; the
    # test's estimates are deliberate from the start.
    monkeypatch.setattr(forwarder_module, "START_GRACE_S", 0.0)
    yield


@pytest.mark.usefixtures("trust_estimates_at_once")
async def test_a_weak_subscriber_gets_audio_only_until_its_estimate_recovers(
    pair: Pair,
) -> None:
    mentor, mentee, booking_id = pair
    calls = mentor.client.app[CALLS]
    assert calls.options.audio_only_below_kbps == 150  # config.toml's default reaches the SFU
    mentor_plis = count_keyframe_requests(mentor.peer)
    await mentor.join(booking_id)
    await mentee.join(booking_id)
    await wait_for(
        lambda: mentor.video_frames() > 10 and mentee.video_frames() > 10, what="video both ways"
    )
    audio = AudioWatch(mentee)
    estimate = video_receiver(mentee).send_estimate
    try:
        # The mentee's link can take 100 kbit/s: video to the mentee stops, and both pages hear.
        await estimate(100_000)
        paused = await mentee.next_message("video_paused")
        assert paused == {"type": "video_paused", "role": "mentee", "reason": "weak_connection"}
        assert await mentor.next_message("video_paused") == paused
        await asyncio.sleep(0.3)  # frames already on the wire
        frames_at_pause = mentee.video_frames()
        mentor_frames = mentor.video_frames()
        # A better estimate this soon is not trusted (at least 2 s paused)...
        await estimate(1_000_000)
        await asyncio.sleep(1.0)
        # ...and after that, one just above the threshold is not enough (hysteresis: 1.25x).
        await estimate(170_000)
        await asyncio.sleep(1.0)
        assert mentee.video_frames() == frames_at_pause, "video reached a paused subscriber"
        assert mentor.video_frames() > mentor_frames + 30, "the mentor's video must not stop"
        assert not mentee.of_type("video_resumed")
        room = calls.rooms.get(str(booking_id))
        assert room is not None
        assert room.participants["mentee"].forwarders["video"].packets_paused > 30

        # The link recovers: video resumes, starting at a keyframe asked of the mentor.
        plis_before = mentor_plis[0]
        await estimate(400_000)
        resumed = await mentee.next_message("video_resumed")
        assert resumed == {"type": "video_resumed", "role": "mentee"}
        assert await mentor.next_message("video_resumed") == resumed
        await wait_for(lambda: mentee.video_frames() > frames_at_pause + 10, what="video again")
        first = mentee.peer.received["video"].frames[frames_at_pause]
        assert first.keyframe, "video must resume at a keyframe"
        assert mentor_plis[0] > plis_before, "the publisher was not asked for a keyframe"
    finally:
        await audio.stop()
    # Audio to the mentee never stopped: no gap of half a second in ~3 s of samples.
    assert audio.longest_silence() < 0.5, audio.longest_silence()
    assert len(audio.samples) >= 25


async def test_a_video_source_switch_asks_for_a_keyframe_and_tells_both_sides(
    pair: Pair,
) -> None:
    mentor, mentee, booking_id = pair
    mentor_plis = count_keyframe_requests(mentor.peer)
    await mentor.open_socket(booking_id)
    await mentor.send({"type": "video_source", "source": "screen"})
    error = await mentor.next_message("error")
    assert error["code"] == "no_offer"

    await mentor.send({"type": "offer", "sdp": await mentor.peer.offer()})
    await mentor.peer.accept((await mentor.next_message("answer"))["sdp"])
    await mentee.join(booking_id)
    await wait_for(lambda: mentee.video_frames() > 10, what="video to the mentee")
    await asyncio.sleep(0.6)  # past the SFU's keyframe request pacing
    before = mentor_plis[0]
    await mentor.send({"type": "video_source", "source": "screen"})
    switched = await mentee.next_message("video_source")
    assert switched == {
        "type": "video_source",
        "role": "mentor",
        "name": "Mentor",
        "source": "screen",
    }
    assert (await mentor.next_message("video_source"))["source"] == "screen"
    await wait_for(lambda: mentor_plis[0] > before, what="a keyframe request on the switch")

    for bad in (
        {"type": "video_source", "source": "window"},
        {"type": "video_source"},
        {"type": "video_source", "source": "screen", "extra": 1},
    ):
        await mentor.send(bad)
        assert (await mentor.next_message("error"))["code"] == "bad_field"
