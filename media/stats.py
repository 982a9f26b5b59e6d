"""Counts of what the SFU forwarded and what RTCP says about the streams, for operators.

Counting is plain integer arithmetic in the forwarding path; Participant.counts() and
Participant.quality() read the counts when Prometheus scrapes, so a scrape costs nothing per
packet. This module holds only the shapes, and imports nothing of media/.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

CLOCK_RATES = {"audio": 48000, "video": 90000}


@dataclass
class MediaCounts:
    """Packets and bytes by (kind, direction); direction is "in" (from browsers) or "out"."""

    packets: Counter[tuple[str, str]] = field(default_factory=Counter)
    bytes: Counter[tuple[str, str]] = field(default_factory=Counter)
    keyframe_requests: int = 0

    def add(self, other: MediaCounts) -> None:
        self.packets.update(other.packets)
        self.bytes.update(other.bytes)
        self.keyframe_requests += other.keyframe_requests


@dataclass(frozen=True)
class StreamQuality:
    """What RTCP tells about one incoming stream: loss share, jitter, and round trip."""

    kind: str
    loss: float
    jitter_seconds: float
    rtt_seconds: float | None
