"""A Forwarder carries one kind of media (audio or video) from the other side to a subscriber.

It hands each encoded frame to the subscriber's ForwardingSender, which only packetizes it; no
encoder runs. It keeps RTP timestamps rising across a publisher's reconnect (LiveKit calls this
munging), holds video back until a keyframe after a (re)start or a failed send, and asks the
publisher for a keyframe when the subscriber needs one (again every REASK_KEYFRAME_S while it
waits: a request sent before the publisher's connection was up is lost).

A video Forwarder can be paused (the subscriber's connection is too weak for video: the Room
decides with a VideoGate): its frames are dropped and counted until it resumes, at a keyframe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from media.aiortc_glue import ForwardingSender
from media.frames import EncodedFrame

# While a subscriber waits for a keyframe, it asks the publisher again this often (seconds).
REASK_KEYFRAME_S = 2.0
# One frame interval, the step when a new source continues an old one's timeline.
FRAME_STEP = {"audio": 960, "video": 3000}


class Forwarder:
    def __init__(
        self,
        kind: str,
        request_keyframe: Callable[[], None],
        on_first_frame: Callable[[], None] | None = None,
    ) -> None:
        self.kind = kind
        self._on_first_frame = on_first_frame
        self.sender: ForwardingSender | None = None
        self.closed = False
        self._request_keyframe = request_keyframe
        self._needs_keyframe = kind == "video"
        self._source: object | None = None
        self._offset = 0
        self._last_out: int | None = None
        self._asked_at = 0.0  # when this forwarder last asked for a keyframe while waiting
        self.frames_forwarded = 0
        self.bytes_forwarded = 0
        self.frames_dropped = 0
        self.paused = False
        self.frames_paused = 0  # dropped because paused (also in frames_dropped)

    def push(self, source: object, frame: EncodedFrame) -> None:
        """Sends a frame of `source` (the publishing receiver) to this subscriber now."""
        if self.closed or self.sender is None:
            return
        if self.paused:
            self.frames_paused += 1
            self.frames_dropped += 1
            return
        if source is not self._source:
            self._switch_source(source, frame)
        if self._needs_keyframe:
            if not frame.keyframe:
                self.frames_dropped += 1
                # Ask again while waiting: a request can be lost (sent before the publisher's
                # connection was up), and browsers send keyframes of their own only rarely.
                now = time.monotonic()
                if now - self._asked_at >= REASK_KEYFRAME_S:
                    self._asked_at = now
                    self._request_keyframe()
                return
            self._needs_keyframe = False
        timestamp = (frame.timestamp + self._offset) % (1 << 32)
        if self.sender.send_frame(frame.data, timestamp):
            self._last_out = timestamp
            if self.frames_forwarded == 0 and self._on_first_frame is not None:
                self._on_first_frame()
            self.frames_forwarded += 1
            self.bytes_forwarded += len(frame.data)
        else:  # not connected yet: start from a keyframe once it is
            self.frames_dropped += 1
            self._needs_keyframe = self.kind == "video"

    def _switch_source(self, source: object, frame: EncodedFrame) -> None:
        """A new publisher (first join or a reconnect): continue the old timeline."""
        self._source = source
        if self._last_out is not None:
            self._offset = self._last_out + FRAME_STEP[self.kind] - frame.timestamp
        else:
            self._offset = -frame.timestamp  # start at zero like aiortc's own tracks
        if self.kind == "video":
            self._needs_keyframe = True
            if not frame.keyframe:
                self._request_keyframe()

    def want_keyframe(self) -> None:
        """The subscriber cannot decode (it just connected, or lost data): ask the publisher."""
        self._request_keyframe()

    def pause(self) -> None:
        """Stops sending to this subscriber; frames are dropped until `resume`."""
        self.paused = True

    def resume(self) -> None:
        """Sends again, from the next keyframe, which is asked of the publisher now."""
        if not self.paused:
            return
        self.paused = False
        if self.kind == "video":
            self._needs_keyframe = True
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
