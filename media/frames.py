"""Encoded frames out of RTP packets, without aiortc's jitter buffer: for the recorder, and
for test peers that count what they receive. The SFU forwards packets, not frames.

aiortc's jitter buffer hands a frame over only when a packet of the *next* frame arrives (and
audio waits for four). Here a video frame leaves as soon as its marker packet completes it and
an audio packet leaves as it arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from media.rtp import vp8_payload

SEQ_MOD = 1 << 16
# Frames that may complete behind a missing packet before we stop waiting for its NACKed
# retransmission, skip ahead and ask for a keyframe. Three frames: ~100 ms at 30 fps.
MAX_FRAMES_BEHIND_GAP = 3
MAX_PACKETS_PER_FRAME = 512


class RtpPacketLike(Protocol):
    sequence_number: int
    timestamp: int
    marker: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    data: bytes
    timestamp: int  # the sender's RTP timestamp
    keyframe: bool


FrameSink = Callable[[EncodedFrame], None]


def seq_before(a: int, b: int) -> bool:
    """True when sequence number `a` comes before `b` (RFC 3550 arithmetic)."""
    return 0 < (b - a) % SEQ_MOD < SEQ_MOD // 2


def vp8_frame_start(payload: bytes) -> bool:
    """The RTP payload begins a VP8 frame: S bit set and partition index 0 (RFC 7741 4.2)."""
    return bool(payload) and payload[0] & 0x10 != 0 and payload[0] & 0x07 == 0


def vp8_keyframe(frame: bytes) -> bool:
    """The VP8 frame tag's P bit is 0 for a key frame (RFC 6386 9.1)."""
    return bool(frame) and frame[0] & 0x01 == 0


class AudioAssembler:
    """Every Opus packet is a frame: pass it on at once, dropping exact duplicates."""

    def __init__(self, sink: FrameSink) -> None:
        self._sink = sink
        self._recent: set[int] = set()
        self._order: list[int] = []

    def add(self, packet: RtpPacketLike) -> bool:
        seq = packet.sequence_number
        if seq in self._recent:
            return False
        self._recent.add(seq)
        self._order.append(seq)
        if len(self._order) > 64:
            self._recent.discard(self._order.pop(0))
        self._sink(EncodedFrame(packet.payload, packet.timestamp, True))
        return False


class VideoAssembler:
    """Reassembles VP8 frames in order; `add` says True when it had to give up on a frame (the
    publisher should be asked for a keyframe)."""

    def __init__(self, sink: FrameSink) -> None:
        self._sink = sink
        self._pending: dict[int, RtpPacketLike] = {}
        self._next: int | None = None  # first sequence number of the next frame to emit
        self.frames_emitted = 0
        self.gaps_skipped = 0

    def add(self, packet: RtpPacketLike) -> bool:
        seq = packet.sequence_number
        if self._next is None:
            if vp8_frame_start(packet.payload):
                self._next = seq
            else:
                if packet.marker:  # joined mid-frame: start after this frame ends
                    self._next = (seq + 1) % SEQ_MOD
                return False
        if seq_before(seq, self._next) or seq in self._pending:
            return False  # late, or a duplicate retransmission
        self._pending[seq] = packet
        pli = False
        while self._next is not None:
            emitted, broken = self._emit_next()
            pli = pli or broken
            if emitted:
                continue
            if self._frames_waiting() >= MAX_FRAMES_BEHIND_GAP or len(self._pending) > 4096:
                self._skip_gap()
                pli = True
                continue
            break
        return pli

    def _emit_next(self) -> tuple[bool, bool]:
        """Emits the frame at `_next` if complete. Returns (emitted, dropped_a_broken_frame)."""
        assert self._next is not None
        seq = self._next
        parts: list[RtpPacketLike] = []
        while len(parts) < MAX_PACKETS_PER_FRAME:
            packet = self._pending.get(seq)
            if packet is None:
                return False, False
            if parts and packet.timestamp != parts[0].timestamp:
                # The marker of the frame in `parts` was lost: that frame cannot be used.
                self._drop(parts)
                self._next = seq
                return True, True
            parts.append(packet)
            if packet.marker:
                break
            seq = (seq + 1) % SEQ_MOD
        self._drop(parts)
        self._next = (seq + 1) % SEQ_MOD
        data = b"".join(vp8_payload(p.payload) for p in parts)
        self.frames_emitted += 1
        self._sink(EncodedFrame(data, parts[0].timestamp, vp8_keyframe(data)))
        return True, False

    def _drop(self, parts: list[RtpPacketLike]) -> None:
        for packet in parts:
            self._pending.pop(packet.sequence_number, None)

    def _frames_waiting(self) -> int:
        return sum(1 for p in self._pending.values() if p.marker)

    def _skip_gap(self) -> None:
        """Gives up on the missing packet: resume at the first frame after the oldest marker."""
        assert self._next is not None
        base = self._next
        ordered = sorted(self._pending, key=lambda s: (s - base) % SEQ_MOD)
        for seq in ordered:
            packet = self._pending.pop(seq)
            if packet.marker:
                self._next = (seq + 1) % SEQ_MOD
                break
        else:
            self._next = None
        self.gaps_skipped += 1
