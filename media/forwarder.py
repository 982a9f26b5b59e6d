"""A Forwarder carries one kind of media (audio or video) from the other side to a subscriber.

It forwards each RTP packet as it arrives, rewriting only what must change: the sequence number
and timestamp (offsets, so both run on without a gap across a publisher's reconnect and a
pause), the VP8 picture id after a new publisher (so it continues too), and, in the sender, the
SSRC, payload type and header extensions. The payload bytes are the publisher's own; nothing is
reassembled, packetized again, decoded or encoded (LiveKit and mediasoup call this munging).

Video waits for the first packet of a keyframe after a (re)start, a pause or a failed send, and
asks the publisher for one (again every REASK_KEYFRAME_S while it waits: a request sent before
the publisher's connection was up is lost). A packet older than the one forwarding restarted at
is dropped: its number would fall among those already sent. So is one whose number jumps
SEQ_JUMP or more ahead, or lies more than SEQ_LATE behind, unless the next packet follows it
(RFC 3550 A.1: the publisher really jumped, so forwarding restarts there): a single mangled
packet cannot move the subscriber's numbers. NACKs are answered from the sender's history;
those the SFU cannot answer the subscriber turns into a PLI, carried to the publisher.

A video Forwarder can be paused (the subscriber's connection is too weak for video: the Room
decides with a VideoGate): its packets are dropped and counted until it resumes, at a keyframe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from media.aiortc_glue import ForwardingSender
from media.rtp import LeanPacket, vp8_picture_id, vp8_starts_keyframe, with_picture_id
from media.stats import CLOCK_RATES

# While a subscriber waits for a keyframe, it asks the publisher again this often (seconds).
REASK_KEYFRAME_S = 2.0
# One frame interval: the least a new source's timeline moves on from the old one's.
FRAME_STEP = {"audio": 960, "video": 3000}
SEQ_MOD = 1 << 16
TS_MOD = 1 << 32
# A packet this many numbers or more ahead of the newest is a jump (RFC 3550 A.1 MAX_DROPOUT).
SEQ_JUMP = 3000
# A late packet (a retransmission) up to this many numbers behind the newest is forwarded: less
# than SRTP's replay window (1024), or protecting it would fail as too old.
SEQ_LATE = 1000


class Forwarder:
    def __init__(
        self,
        kind: str,
        request_keyframe: Callable[[], None],
        on_first_frame: Callable[[], None] | None = None,
    ) -> None:
        self.kind = kind
        self._video = kind == "video"
        self._on_first_frame = on_first_frame
        self.sender: ForwardingSender | None = None
        self.closed = False
        self._request_keyframe = request_keyframe
        self._source: object | None = None
        self._restart = True  # the next packet forwarded (a keyframe's first, for video)
        self._new_source = False  # the restart is a new publisher's first packet
        # publisher's numbers + offset = subscriber's numbers (mod 2**16, 2**32, 2**15 or 2**7)
        self._seq_offset = 0
        self._ts_offset = 0
        self._picture_offset = 0
        self._newest = 0  # the publisher's newest number forwarded
        self._behind_ok = 0  # how far behind it a late packet may be (not before the restart)
        self._jumped_to: int | None = None  # the number after a jump's, should it continue
        self._last_sent_at = 0.0  # when the newest packet was sent (monotonic)
        self._asked_at = 0.0  # when this forwarder last asked for a keyframe while waiting
        self.packets_forwarded = 0
        self.bytes_forwarded = 0
        self.packets_dropped = 0
        self.paused = False
        self.packets_paused = 0  # dropped because paused (also in packets_dropped)

    def push(self, source: object, packet: LeanPacket) -> None:
        """Sends a packet of `source` (the publishing receiver) to this subscriber now."""
        sender = self.sender
        if self.closed or sender is None:
            return
        if self.paused:
            self.packets_paused += 1
            self.packets_dropped += 1
            return
        if source is not self._source:
            self._switch_source(source, packet)
        elif not self._restart and not self._in_sequence(packet.sequence_number):
            self.packets_dropped += 1
            return
        if self._restart:
            if not sender.can_send():
                # Not connected yet: a keyframe asked for now would arrive too early and be
                # lost, and hold back (by the publisher's throttle) the one the Room asks for
                # when this subscriber connects.
                self.packets_dropped += 1
                return
            if self._video and not vp8_starts_keyframe(packet.payload):
                self._wait_for_keyframe()
                return
            self._restart_at(packet, sender)
        payload = packet.payload
        if self._video and self._picture_offset:
            payload = self._renumber_picture(payload)
        timestamp = (packet.timestamp + self._ts_offset) % TS_MOD
        sequence = (packet.sequence_number + self._seq_offset) % SEQ_MOD
        if sender.send_packet(sequence, timestamp, packet.marker, payload):
            self._last_sent_at = time.monotonic()
            if self.packets_forwarded == 0 and self._on_first_frame is not None:
                self._on_first_frame()
            self.packets_forwarded += 1
            self.bytes_forwarded += len(payload)
        else:  # not connected yet (or refused): start again (from a keyframe) once it can
            self.packets_dropped += 1
            self._restart = True

    def _in_sequence(self, seq: int) -> bool:
        """Whether a packet numbered `seq` may be forwarded: ahead of the newest by less than
        SEQ_JUMP, or late but not before the restart point. A jump is dropped, unless this is
        the packet after the one that jumped: then forwarding restarts here."""
        ahead = (seq - self._newest) % SEQ_MOD
        if ahead < SEQ_JUMP:
            self._newest = seq
            self._behind_ok = min(SEQ_LATE, self._behind_ok + ahead)
            self._jumped_to = None
            return True
        if SEQ_MOD - ahead <= self._behind_ok:
            return True
        if seq == self._jumped_to:
            self._restart = True
            return True
        self._jumped_to = (seq + 1) % SEQ_MOD
        return False

    def _wait_for_keyframe(self) -> None:
        self.packets_dropped += 1
        # Ask again while waiting: a request can be lost (sent before the publisher's
        # connection was up), and browsers send keyframes of their own only rarely.
        now = time.monotonic()
        if now - self._asked_at >= REASK_KEYFRAME_S:
            self._asked_at = now
            self._request_keyframe()

    def _restart_at(self, packet: LeanPacket, sender: ForwardingSender) -> None:
        """Forwarding (re)starts at `packet`: its sequence number follows the last one sent, a
        new source's timestamps continue the old timeline, and picture ids run on by one."""
        self._restart = False
        self._newest = packet.sequence_number
        self._behind_ok = 0
        self._jumped_to = None
        self._seq_offset = (sender.sequence_number - packet.sequence_number) % SEQ_MOD
        last = sender.last_sent()  # (timestamp, payload) of the newest packet sent
        new_source, self._new_source = self._new_source, False
        if last is None:
            return
        if new_source:
            elapsed = (time.monotonic() - self._last_sent_at) * CLOCK_RATES[self.kind]
            step = max(FRAME_STEP[self.kind], int(elapsed))
            self._ts_offset = (last[0] + step - packet.timestamp) % TS_MOD
        if self._video:
            found, sent = vp8_picture_id(packet.payload), vp8_picture_id(last[1])
            if found is not None and sent is not None and found[1] == sent[1]:
                self._picture_offset = (sent[0] + 1 - found[0]) % (1 << found[1])
            else:
                self._picture_offset = 0

    def _switch_source(self, source: object, packet: LeanPacket) -> None:
        """A new publisher (first join or a reconnect): restart from its next keyframe."""
        self._source = source
        self._restart = self._new_source = True
        assert self.sender is not None
        if self._video and self.sender.can_send() and not vp8_starts_keyframe(packet.payload):
            self._asked_at = time.monotonic()
            self._request_keyframe()

    def _renumber_picture(self, payload: bytes) -> bytes:
        found = vp8_picture_id(payload)
        if found is None:
            return payload
        picture_id, bits = found
        return with_picture_id(payload, (picture_id + self._picture_offset) % (1 << bits), bits)

    def want_keyframe(self) -> None:
        """The subscriber cannot decode (it just connected, or lost data): ask the publisher."""
        self._request_keyframe()

    def pause(self) -> None:
        """Stops sending to this subscriber; packets are dropped until `resume`."""
        self.paused = True

    def resume(self) -> None:
        """Sends again, from the next keyframe, which is asked of the publisher now."""
        if not self.paused:
            return
        self.paused = False
        self._restart = True
        if self._video:
            self._request_keyframe()

    def close(self) -> None:
        self.closed = True


# A subscriber's estimate must reach this many times the threshold before video resumes.
RESUME_FACTOR = 1.25
# Video stays paused at least this long, so that an estimate hovering at the threshold does not
# flap video on and off.
MIN_PAUSE_S = 2.0
# Estimates are not trusted this soon after a subscriber joins: browsers start low and climb.
START_GRACE_S = 5.0
# Without video an estimate cannot grow much (browsers cap it near what they receive), so a
# pause longer than this tries video again; each try that fails doubles the wait, up to the max.
PROBE_AFTER_S = 10.0
MAX_PROBE_AFTER_S = 80.0


class VideoGate:
    """Decides, from a subscriber's bandwidth estimates (REMB), when it gets audio only.

    Below `below_bps` video pauses; it resumes when the estimate reaches RESUME_FACTOR times
    that, after at least MIN_PAUSE_S. 0 means never pause. `now` is monotonic seconds.
    """

    def __init__(self, below_bps: int, now: float) -> None:
        self.below_bps = below_bps
        self.paused = False
        self._paused_at = 0.0
        self._trust_from = now + START_GRACE_S
        self._probe_after = PROBE_AFTER_S

    def update(
        self, bitrate: int, now: float, flowing: bool = True
    ) -> Literal["pause", "resume"] | None:
        """What to do about this estimate: pause video, resume it, or nothing. `flowing`: video
        reaches the subscriber; until it does, an estimate says nothing of the link (browsers
        estimate near what they receive), so the grace period starts again."""
        if self.below_bps <= 0:
            return None
        if not self.paused and not flowing:
            self._trust_from = now + START_GRACE_S
            return None
        if not self.paused:
            if bitrate >= self.below_bps * RESUME_FACTOR:
                self._probe_after = PROBE_AFTER_S  # healthy again: the next pause starts anew
            elif bitrate < self.below_bps and now >= self._trust_from:
                self.paused = True
                self._paused_at = now
                return "pause"
            return None
        paused_for = now - self._paused_at
        if paused_for < MIN_PAUSE_S:
            return None
        if bitrate >= self.below_bps * RESUME_FACTOR:
            self.paused = False
            self._probe_after = PROBE_AFTER_S
            return "resume"
        if paused_for >= self._probe_after:  # try video again; give the estimate time to climb
            self.paused = False
            self._trust_from = now + START_GRACE_S
            self._probe_after = min(self._probe_after * 2, MAX_PROBE_AFTER_S)
            return "resume"
        return None
