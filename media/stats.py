"""Counts of what the SFU forwarded and what RTCP says about the streams, for operators.

Counting is plain integer arithmetic in the forwarding path; these functions read the counts
when Prometheus scrapes, so a scrape costs nothing per packet.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from media.participant import Participant

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


def counts_of(participant: Participant) -> MediaCounts:
    counts = MediaCounts(keyframe_requests=participant.keyframe_requests)
    for kind, receiver in participant.receivers.items():
        counts.packets[(kind, "in")] += receiver.packets_in
        counts.bytes[(kind, "in")] += receiver.bytes_in
    for kind, forwarder in participant.forwarders.items():
        sender = forwarder.sender
        if sender is not None:
            counts.packets[(kind, "out")] += sender.packets_sent
            counts.bytes[(kind, "out")] += sender.octets_sent
    return counts


@dataclass(frozen=True)
class StreamQuality:
    """What RTCP tells about one incoming stream: loss share, jitter, and round trip."""

    kind: str
    loss: float
    jitter_seconds: float
    rtt_seconds: float | None


def quality_of(participant: Participant) -> list[StreamQuality]:
    found = []
    for kind, receiver in participant.receivers.items():
        sender = participant.forwarders[kind].sender
        rtt = getattr(sender, "_RTCRtpSender__rtt", None) if sender is not None else None
        for stream in receiver.remote_streams.values():
            if stream.max_seq is None:
                continue
            expected = stream.packets_expected
            loss = stream.packets_lost / expected if expected > 0 else 0.0
            found.append(
                StreamQuality(
                    kind, max(0.0, loss), stream.jitter / CLOCK_RATES.get(kind, 90000), rtt
                )
            )
    return found
