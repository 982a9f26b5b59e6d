"""A Forwarder carries one kind of media (audio or video) from the other side to a subscriber.

It hands each encoded frame to the subscriber's ForwardingSender, which only packetizes it; no
encoder runs. It keeps RTP timestamps rising across a publisher's reconnect (LiveKit calls this
munging), holds video back until a keyframe after a (re)start or a failed send, and asks the
publisher for a keyframe when the subscriber needs one.
"""

from __future__ import annotations

from collections.abc import Callable

from media.aiortc_glue import ForwardingSender
from media.frames import EncodedFrame

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
        self.frames_forwarded = 0
        self.bytes_forwarded = 0
        self.frames_dropped = 0

    def push(self, source: object, frame: EncodedFrame) -> None:
        """Sends a frame of `source` (the publishing receiver) to this subscriber now."""
        if self.closed or self.sender is None:
            return
        if source is not self._source:
            self._switch_source(source, frame)
        if self._needs_keyframe:
            if not frame.keyframe:
                self.frames_dropped += 1
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

    def close(self) -> None:
        self.closed = True
