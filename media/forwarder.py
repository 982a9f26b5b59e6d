"""A Forwarder is the track a participant's sender reads: the other side's encoded frames.

It is the only MediaStreamTrack on the server's senders, so aiortc's RTCRtpSender gets
`av.Packet`s and only packetizes them (no encoder runs). It keeps RTP timestamps rising across
a publisher's reconnect (LiveKit calls this munging), holds video back until a keyframe after a
(re)start or an overflow, and asks for a keyframe when it needs one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from fractions import Fraction

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.stream import Stream

from media.frames import EncodedFrame

CLOCK_RATES = {"audio": 48000, "video": 90000}
# One frame interval, used as the step when a new source continues an old one's timeline.
FRAME_STEP = {"audio": 960, "video": 3000}
# A sender that cannot keep up (no connection yet, a slow network) must not grow memory:
# past this many waiting frames the queue is cleared (and video waits for a keyframe).
MAX_QUEUED = {"audio": 25, "video": 60}


class Forwarder(MediaStreamTrack):
    def __init__(self, kind: str, request_keyframe: Callable[[], None]) -> None:
        super().__init__()
        self.kind = kind
        self._request_keyframe = request_keyframe
        self._time_base = Fraction(1, CLOCK_RATES[kind])
        self._queue: deque[av.Packet[Stream]] = deque()
        self._wakeup: asyncio.Event = asyncio.Event()
        self._needs_keyframe = kind == "video"
        self._source: object | None = None
        self._offset = 0
        self._last_out: int | None = None
        self.frames_forwarded = 0
        self.bytes_forwarded = 0
        self.frames_dropped = 0

    def push(self, source: object, frame: EncodedFrame) -> None:
        """Queues a frame of `source` (the publishing receiver) for this track's sender."""
        if self.readyState != "live":
            return
        if source is not self._source:
            self._switch_source(source, frame)
        if self._needs_keyframe:
            if not frame.keyframe:
                self.frames_dropped += 1
                return
            self._needs_keyframe = False
        if len(self._queue) >= MAX_QUEUED[self.kind]:
            self.frames_dropped += len(self._queue)
            self._queue.clear()
            if self.kind == "video":
                self._needs_keyframe = True
                self._request_keyframe()
                self.frames_dropped += 1
                return
        timestamp = (frame.timestamp + self._offset) % (1 << 32)
        self._last_out = timestamp
        packet = av.Packet(frame.data)
        packet.pts = timestamp
        packet.time_base = self._time_base
        self._queue.append(packet)
        self._wakeup.set()

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

    async def recv(self) -> av.Packet[Stream]:
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._wakeup.clear()
            await self._wakeup.wait()
        packet = self._queue.popleft()
        self.frames_forwarded += 1
        self.bytes_forwarded += packet.size
        return packet

    def stop(self) -> None:
        super().stop()
        self._queue.clear()
        self._wakeup.set()
