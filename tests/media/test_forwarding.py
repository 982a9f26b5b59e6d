"""Two real aiortc peers over loopback through the real Room: encoded media flows both ways."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from media.events import RoomEvent
from media.forwarder import SEQ_LATE, Forwarder
from media.room import Room, RoomOptions
from media.rtp import LeanPacket, vp8_picture_id, vp8_starts_keyframe
from tests.support.media import (
    Clip,
    TestPeer,
    count_keyframe_requests,
    join_room,
    record_estimates,
    record_sent_rtp,
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


def unrolled(numbers: list[int], modulus: int = 1 << 16) -> list[int]:
    """Sequence numbers as they count on past the wrap (each within half a lap of the last)."""
    out = [numbers[0]]
    for number in numbers[1:]:
        step = (number - out[-1]) % modulus
        out.append(out[-1] + (step if step < modulus // 2 else step - modulus))
    return out


def in_order(packets: list[LeanPacket]) -> list[LeanPacket]:
    """The packets by sequence number, each once (a retransmission arrives late, or twice)."""
    numbers = unrolled([p.sequence_number for p in packets])
    return [p for _, p in sorted(dict(zip(numbers, packets, strict=True)).items())]


def without_gaps(packets: list[LeanPacket]) -> bool:
    numbers = unrolled([p.sequence_number for p in packets])
    return numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def picture_ids(packets: list[LeanPacket]) -> list[int]:
    """The VP8 picture id of each frame, in order."""
    ids: list[int] = []
    for packet in packets:
        found = vp8_picture_id(packet.payload)
        if found is not None and (not ids or ids[-1] != found[0]):
            ids.append(found[0])
    return ids


async def test_packets_are_forwarded_with_the_publishers_payload_bytes(
    video_clip: Clip, audio_clip: Clip, room_options: RoomOptions
) -> None:
    """Packet-level forwarding: each RTP payload (VP8 descriptor included) leaves as it came."""
    room = Room("booking-5", end_time_for=an_hour, options=room_options)
    mentor = TestPeer(video_clip, audio_clip)
    mentee = TestPeer(video_clip, audio_clip, keep_packets=True)
    try:
        await join_room(room, "mentor", mentor)
        sent = record_sent_rtp(mentor)
        await join_room(room, "mentee", mentee)
        await wait_for(lambda: len(mentee.received["video"].frames) >= 45, what="video")
        await wait_for(lambda: len(mentee.received["audio"].frames) >= 75, what="audio")
    finally:
        await room.close("left")
        await mentor.close()
        await mentee.close()
    for kind in ("audio", "video"):
        received = mentee.packets[kind]
        assert received, kind
        # What the mentor sent of this kind, by sequence number. Forwarding only renumbers:
        # one offset maps every packet the mentee got onto the one the mentor sent.
        by_number = {
            p.sequence_number: p.payload for p in sent if p.payload_type == received[0].payload_type
        }
        offsets = {
            (received[0].sequence_number - number) % 65536
            for number, payload in by_number.items()
            if payload == received[0].payload
        }
        assert any(
            all(by_number.get((p.sequence_number - d) % 65536) == p.payload for p in received)
            for d in offsets
        ), f"a forwarded {kind} payload differs from the one sent"
        assert without_gaps(in_order(received)), f"{kind}: a sequence gap"


async def test_a_late_subscriber_gets_a_keyframe_first_and_numbers_run_on_across_a_reconnect(
    video_clip: Clip, audio_clip: Clip, room_options: RoomOptions
) -> None:
    """The mentee joins while the mentor has been sending for a while: its first video packet
    starts a keyframe. Then the mentor's tab reloads (a new peer connection, new SSRCs, new
    sequence numbers, timestamps and picture ids): the mentee sees one stream whose sequence
    numbers have no gap it would NACK forever and whose picture ids run on by one."""
    room = Room("booking-6", end_time_for=an_hour, options=room_options)
    mentor, again = TestPeer(video_clip, audio_clip), TestPeer(video_clip, audio_clip)
    mentee = TestPeer(video_clip, audio_clip, keep_packets=True)
    try:
        await join_room(room, "mentor", mentor)
        await asyncio.sleep(1.5)  # past the mentor's first keyframe (one a second)
        await join_room(room, "mentee", mentee)
        await wait_for(lambda: len(mentee.received["video"].frames) >= 20, what="video")
        first = mentee.packets["video"][0]
        assert vp8_starts_keyframe(first.payload), "the first video packet is no keyframe"
        await mentor.close()
        await asyncio.sleep(0.3)  # what was on the way from the old connection has arrived
        before = len(mentee.packets["video"])
        await join_room(room, "mentor", again)
        await wait_for(lambda: len(mentee.received["video"].frames) >= 60, what="video again")
    finally:
        await room.close("left")
        for peer in (mentor, again, mentee):
            await peer.close()
    assert vp8_starts_keyframe(mentee.packets["video"][before].payload), "not a keyframe"
    assert len({p.ssrc for p in mentee.packets["video"]}) == 1, "the subscriber saw a new SSRC"
    video = in_order(mentee.packets["video"])
    assert without_gaps(video), "a video sequence gap"
    stamps = unrolled([p.timestamp for p in video], 1 << 32)
    assert all(b >= a for a, b in itertools.pairwise(stamps)), "timestamps went backwards"
    ids = unrolled(picture_ids(video), 1 << 15)
    assert ids == list(range(ids[0], ids[0] + len(ids))), "picture ids do not run on by one"
    assert without_gaps(in_order(mentee.packets["audio"])), "an audio sequence gap"


class RecordingSender:
    """What a Forwarder needs of a ForwardingSender, keeping the numbers sent."""

    def __init__(self) -> None:
        self.sequence_number = 5000  # the next after the highest sent
        self.sent: list[int] = []

    def can_send(self) -> bool:
        return True

    def last_sent(self) -> None:
        return None

    def send_packet(self, sequence: int, timestamp: int, marker: int, payload: bytes) -> bool:
        self.sent.append(sequence)
        if 0 <= (sequence - self.sequence_number) % 65536 < 32768:
            self.sequence_number = (sequence + 1) % 65536
        return True


def audio_forwarder() -> tuple[Forwarder, RecordingSender]:
    forwarder = Forwarder("audio", request_keyframe=lambda: None)
    sender = RecordingSender()
    forwarder.sender = sender  # type: ignore[assignment]
    return forwarder, sender


def push_numbers(forwarder: Forwarder, source: object, numbers: Iterable[int]) -> None:
    for n in numbers:
        forwarder.push(source, LeanPacket(111, n % 65536, n * 960, 1, 0, b"\x01"))


def test_one_packet_numbered_far_off_is_dropped_and_the_numbers_run_on() -> None:
    forwarder, sender = audio_forwarder()
    source = object()
    push_numbers(forwarder, source, range(100, 111))
    push_numbers(forwarder, source, [40_000, 111, 112, 9_000, 113])  # mangled, or hostile
    assert sender.sent == list(range(5000, 5014))
    assert forwarder.packets_dropped == 2


def test_numbers_that_really_jump_restart_forwarding_without_a_gap() -> None:
    forwarder, sender = audio_forwarder()
    source = object()
    push_numbers(forwarder, source, range(100, 106))
    push_numbers(forwarder, source, range(20_000, 20_005))  # the publisher's numbers jumped
    assert sender.sent == list(range(5000, 5006)) + list(range(5006, 5010))
    assert forwarder.packets_dropped == 1  # the first of the jump, before it was confirmed


def test_late_packets_go_through_unless_from_before_the_restart() -> None:
    forwarder, sender = audio_forwarder()
    source = object()
    push_numbers(forwarder, source, range(100, 1300))
    push_numbers(forwarder, source, [1299 - SEQ_LATE, 1299 - SEQ_LATE - 1])  # just in, just out
    assert sender.sent[-1] == 5000 + 1299 - SEQ_LATE - 100
    assert forwarder.packets_dropped == 1

    forwarder, sender = audio_forwarder()
    push_numbers(forwarder, source, range(100, 200))
    push_numbers(forwarder, source, [150, 99])  # late, then from before forwarding started
    assert sender.sent[-1] == 5050
    assert forwarder.packets_dropped == 1
