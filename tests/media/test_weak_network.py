"""VideoGate: when a subscriber's bandwidth estimates pause and resume its video; and a
forwarder that waits for a keyframe keeps asking for one."""

from __future__ import annotations

from media.forwarder import (
    MIN_PAUSE_S,
    PROBE_AFTER_S,
    REASK_KEYFRAME_S,
    START_GRACE_S,
    Forwarder,
    VideoGate,
)
from media.rtp import LeanPacket

THRESHOLD = 150_000


def started_gate() -> tuple[VideoGate, float]:
    """A gate past its start grace, and the time then."""
    return VideoGate(THRESHOLD, now=0.0), START_GRACE_S


def test_zero_never_pauses() -> None:
    gate = VideoGate(0, now=0.0)
    assert gate.update(1, START_GRACE_S + 1) is None
    assert not gate.paused


def test_early_estimates_are_not_trusted() -> None:
    gate = VideoGate(THRESHOLD, now=0.0)
    assert gate.update(50_000, START_GRACE_S - 0.1) is None
    assert gate.update(50_000, START_GRACE_S) == "pause"


def test_resumes_above_the_threshold_with_margin_after_the_minimum_pause() -> None:
    gate, now = started_gate()
    assert gate.update(THRESHOLD, now) is None  # at the threshold: still fine
    assert gate.update(THRESHOLD - 1, now) == "pause"
    assert gate.update(10 * THRESHOLD, now + MIN_PAUSE_S - 0.1) is None  # too soon
    assert gate.update(int(THRESHOLD * 1.2), now + MIN_PAUSE_S) is None  # not enough margin
    assert gate.update(int(THRESHOLD * 1.25), now + MIN_PAUSE_S) == "resume"
    assert not gate.paused


def test_a_long_pause_tries_video_again_and_backs_off() -> None:
    gate, now = started_gate()
    assert gate.update(50_000, now) == "pause"
    assert gate.update(60_000, now + PROBE_AFTER_S - 0.1) is None
    probe = now + PROBE_AFTER_S
    assert gate.update(60_000, probe) == "resume"  # without video the estimate cannot climb
    # The estimate gets a start grace again; still low after it: pause, and wait twice as long.
    assert gate.update(60_000, probe + 1) is None
    again = probe + START_GRACE_S
    assert gate.update(60_000, again) == "pause"
    assert gate.update(60_000, again + PROBE_AFTER_S) is None
    assert gate.update(60_000, again + 2 * PROBE_AFTER_S) == "resume"


def test_estimates_before_video_flows_start_the_grace_again() -> None:
    """A subscriber that has not received video yet estimates low because it receives little:
    that must not pause the video it is still waiting for (it would never start)."""
    gate = VideoGate(THRESHOLD, now=0.0)
    assert gate.update(50_000, START_GRACE_S + 10, flowing=False) is None
    assert not gate.paused
    # Video flows from then on: the grace counts from the last estimate without it.
    assert gate.update(50_000, START_GRACE_S + 10 + START_GRACE_S - 0.1) is None
    assert gate.update(50_000, START_GRACE_S + 10 + START_GRACE_S) == "pause"


def test_a_forwarder_waiting_for_a_keyframe_keeps_asking() -> None:
    """A lost keyframe request must not leave a subscriber without video until the browser
    sends a keyframe of its own (which can take minutes)."""
    asked: list[int] = []
    forwarder = Forwarder("video", lambda: asked.append(1))
    sent: list[int] = []

    class Sender:
        sequence_number = 100

        def can_send(self) -> bool:
            return True

        def send_packet(self, sequence: int, timestamp: int, marker: int, payload: bytes) -> bool:
            sent.append(sequence)
            self.sequence_number = sequence + 1
            return True

        def last_sent(self) -> None:
            return None

    def packet(seq: int, keyframe: bool) -> LeanPacket:
        # a VP8 payload descriptor (S=1, partition 0), then the frame tag's P bit
        return LeanPacket(96, seq, 3000 * seq, 1, 1, bytes([0x10, 0x00 if keyframe else 0x01]))

    forwarder.sender = Sender()  # type: ignore[assignment]
    source = object()
    for i in range(5):
        forwarder.push(source, packet(i, keyframe=False))
    # One request on the new source; then at most one every 2 s while waiting.
    assert len(asked) == 1 and forwarder.packets_forwarded == 0
    forwarder._asked_at -= REASK_KEYFRAME_S
    forwarder.push(source, packet(5, keyframe=False))
    assert len(asked) == 2
    forwarder.push(source, packet(6, keyframe=True))
    forwarder.push(source, packet(7, keyframe=False))
    # Numbered on from the sender's next number: no gap for the packets waited through.
    assert forwarder.packets_forwarded == 2 and sent == [100, 101]
    forwarder.push(source, packet(3, keyframe=False))  # a late one from before the keyframe
    assert sent == [100, 101]
