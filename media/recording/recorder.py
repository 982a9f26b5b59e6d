"""Recording a call, with both sides' consent: the encoded frames the SFU already forwards,
muxed into WebM by PyAV. No decoder and no encoder runs (the streams are added without a codec
context to open, see `_opus_template`).

One WebM per participant (`mentor.webm`, `mentee.webm`) and a manifest `recording.json` under
`{recording_dir}/{booking_id}/` (docs/architecture.md, "Recording"). Every packet's time comes
from its RTP timestamp, anchored on arrival on one monotonic timeline shared by both files, so a
publisher's reconnect continues the same file and the two files stay in sync through the
manifest's offsets. Clusters are at most a second long and flushed as they close, so a killed
process loses about a second; a clean stop writes the cues and the duration, then fsyncs.

Nothing here may raise into the media path: a muxing error stops that file, logs one line and
counts a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import logging
import os
import shutil
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
from av.container import OutputContainer
from av.stream import Stream

from media.events import Role
from media.frames import EncodedFrame

log = logging.getLogger("micromentor.media")
RecordingState = Literal["off", "waiting", "running", "stopped", "refused"]
MANIFEST = "recording.json"
ROLES: tuple[Role, Role] = ("mentor", "mentee")
CLOCK_RATES = {"audio": 48000, "video": 90000}
TIME_BASE = Fraction(1, 1000)  # Matroska's millisecond
# Audio waits this long for the first video keyframe (its size goes in the header) before the
# file opens without it, at a default size.
KEYFRAME_WAIT_S = 3.0
DEFAULT_SIZE = (640, 480)
# An RTP clock further than this from the arrival clock is not trusted: re-anchor on arrival.
RESYNC_MS = 3000
MUXER_OPTIONS = {
    "cluster_time_limit": "1000",  # ms: a SIGKILL loses at most about this much
    "flush_packets": "1",  # each closed cluster reaches the file at once
    "max_interleave_delta": "500000",  # µs: a silent stream does not hold the other back
}
DISK_MESSAGE = "Recording cannot start: the server is short of disk space."


@dataclass
class RecordingTotals:
    """This node's recording counters, read by the metrics at scrape time."""

    bytes_written: int = 0
    failures: int = 0
    running: int = 0


@dataclass(frozen=True)
class RecordingOptions:
    """What a room needs to record: whether the booking offers it, and where files go."""

    offered: bool
    directory: Path  # {recording_dir}/{booking_id}
    min_free_mb: int = 500
    totals: RecordingTotals = field(default_factory=RecordingTotals)


def vp8_size(frame: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe's header (RFC 6386 9.1), or None."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    width, height = struct.unpack_from("<HH", frame, 6)
    return width & 0x3FFF, height & 0x3FFF


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(payload: bytes, sequence: int, flags: int, granule: int = 0) -> bytes:
    lacing = [255] * (len(payload) // 255) + [len(payload) % 255]
    header = b"OggS" + bytes([0, flags]) + struct.pack("<qII", granule, 1, sequence)
    page = header + b"\0\0\0\0" + bytes([len(lacing)]) + bytes(lacing) + payload
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def opus_head(channels: int = 2) -> bytes:
    """RFC 7845's identification header: version 1, no pre-skip (RTP Opus has none), 48 kHz."""
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, 0, 48000, 0, 0)


def _opus_template() -> tuple[Any, Stream]:
    """An Opus stream carrying our OpusHead, to copy into the WebM: PyAV sets extradata only
    through a template stream, and a template's codec context is never opened. It comes from a
    tiny Ogg file built here (headers and one silent packet)."""
    ogg = (
        _ogg_page(opus_head(), 0, 0x02)
        + _ogg_page(b"OpusTags" + struct.pack("<II", 0, 0), 1, 0)
        + _ogg_page(b"\xf8\xff\xfe", 2, 0x04, 960)
    )
    source = av.open(io.BytesIO(ogg), "r", format="ogg")
    return source, source.streams.audio[0]


class TrackClock:
    """One kind's RTP timestamps as milliseconds of the file; a new source (a reconnect)
    re-anchors on its arrival time, after the last packet written."""

    def __init__(self, kind: str) -> None:
        self.rate = CLOCK_RATES[kind]
        self._source: object | None = None
        self._anchor_ms = 0
        self._ticks = 0  # unwrapped RTP ticks since the anchor
        self._last_rtp = 0
        self.last_pts: int | None = None

    def pts(self, source: object, rtp: int, arrival_ms: int) -> int:
        if source is self._source:
            self._ticks += (rtp - self._last_rtp + (1 << 31)) % (1 << 32) - (1 << 31)
            pts = self._anchor_ms + self._ticks * 1000 // self.rate
            if abs(pts - arrival_ms) > RESYNC_MS:
                pts = self._anchor(source, arrival_ms)
        else:
            pts = self._anchor(source, arrival_ms)
        self._last_rtp = rtp
        if self.last_pts is not None and pts <= self.last_pts:
            pts = self.last_pts + 1
        self.last_pts = pts
        return pts

    def _anchor(self, source: object, arrival_ms: int) -> int:
        self._source = source
        self._anchor_ms = arrival_ms
        self._ticks = 0
        return arrival_ms


class ParticipantRecorder:
    """One participant's WebM. Opens on the first video keyframe (or KEYFRAME_WAIT_S after
    the first audio); video starts at a keyframe, and again after a reconnect."""

    def __init__(
        self,
        path: Path,
        origin: float,
        totals: RecordingTotals,
        request_keyframe: Callable[[], None],
        on_open: Callable[[], None],
    ) -> None:
        self.path = path
        self.origin = origin  # monotonic start of the recording's shared timeline
        self.started: float | None = None  # monotonic time 0 of this file
        self.state: Literal["pending", "open", "closed", "failed"] = "pending"
        self.size = DEFAULT_SIZE
        self.packets = {"audio": 0, "video": 0}
        self._totals = totals
        self._request_keyframe = request_keyframe
        self._on_open = on_open
        self._clocks = {kind: TrackClock(kind) for kind in CLOCK_RATES}
        self._video_source: object | None = None
        self._needs_keyframe = True
        self._pending: list[tuple[str, bytes, int, bool]] = []
        self._container: OutputContainer | None = None
        self._streams: dict[str, Stream] = {}
        self._counted = 0

    @property
    def offset_seconds(self) -> float:
        return round((self.started or self.origin) - self.origin, 3)

    def write(self, kind: str, source: object, frame: EncodedFrame) -> None:
        if self.state in ("closed", "failed"):
            return
        try:
            self._write(kind, source, frame)
        except Exception as exc:
            self._fail(exc)

    def _write(self, kind: str, source: object, frame: EncodedFrame) -> None:
        now = time.monotonic()
        if kind == "video":
            if source is not self._video_source:
                self._video_source = source
                self._needs_keyframe = True
            if self._needs_keyframe:
                if not frame.keyframe:
                    self._request_keyframe()
                    return
                self._needs_keyframe = False
                if self.state == "pending":
                    self.size = vp8_size(frame.data) or DEFAULT_SIZE
        if self.started is None:
            self.started = now
        pts = self._clocks[kind].pts(source, frame.timestamp, int((now - self.started) * 1000))
        if self.state == "pending":
            self._pending.append((kind, frame.data, pts, frame.keyframe))
            if kind == "video" or now - self.started >= KEYFRAME_WAIT_S:
                self._open()
                for pending in self._pending:
                    self._mux(*pending)
                self._pending.clear()
                self._on_open()  # the file exists now: the manifest can name it
            return
        self._mux(kind, frame.data, pts, frame.keyframe)

    def _open(self) -> None:
        container = av.open(str(self.path), "w", format="webm", container_options=MUXER_OPTIONS)
        self._container = container
        video = container.add_mux_stream("vp8", width=self.size[0], height=self.size[1])
        template, opus = _opus_template()
        audio = container.add_stream_from_template(opus, opaque=True)
        template.close()
        for stream in (video, audio):
            stream.time_base = TIME_BASE
        self._streams = {"video": video, "audio": audio}
        self.state = "open"

    def _mux(self, kind: str, data: bytes, pts: int, keyframe: bool) -> None:
        assert self._container is not None
        packet = av.Packet(data)
        packet.stream = self._streams[kind]
        packet.time_base = TIME_BASE
        packet.pts = packet.dts = pts
        packet.is_keyframe = keyframe
        self._container.mux(packet)
        self.packets[kind] += 1
        self._counted += len(data)
        self._totals.bytes_written += len(data)

    def _fail(self, exc: Exception) -> None:
        self.state = "failed"
        self._totals.failures += 1
        log.warning("recording %s stopped: %s: %s", self.path, exc.__class__.__name__, exc)
        container, self._container = self._container, None
        if container is not None:
            with contextlib.suppress(Exception):  # the file is what it is; the failure counts
                container.close()

    def detach(self) -> None:
        """No more frames: the media path stops writing here (the file closes in `finish`)."""
        if self.state in ("pending", "open"):
            self.state = "closed"
        self._pending.clear()

    def finish(self) -> None:
        """Writes the cues and duration, then fsyncs the file. Blocking: run it in a thread."""
        container, self._container = self._container, None
        if container is None:
            return
        try:
            container.close()
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._totals.bytes_written += max(0, self.path.stat().st_size - self._counted)
        except Exception as exc:
            self._totals.failures += 1
            log.warning("recording %s: closing failed: %s", self.path, exc)


class Recording:
    """A room's recording: the consent of both sides, then one ParticipantRecorder each.

    States: "off" (offered, nobody agreed yet, or not offered), "waiting" (one side agreed),
    "running", "stopped" (either side stopped it, or the call ended: it never restarts),
    "refused" (too little disk space when both had agreed).
    """

    def __init__(
        self,
        options: RecordingOptions,
        booking_id: str,
        *,
        now: Callable[[], datetime],
        request_keyframe: Callable[[Role], None],
    ) -> None:
        self.options = options
        self.booking_id = booking_id
        self.consented: list[Role] = []
        self.state: RecordingState = "off"
        self.message = ""
        self.recorders: dict[Role, ParticipantRecorder] = {}
        self.started_at: datetime | None = None
        self.stopped_at: datetime | None = None
        self._now = now
        self._request_keyframe = request_keyframe
        self._origin = 0.0
        if options.offered and (options.directory / MANIFEST).exists():
            # This booking was recorded before (the server restarted mid-call): keep that.
            self.state = "stopped"
            self.message = "This call was recorded earlier; a recording does not restart."

    def status(self) -> dict[str, Any]:
        return {
            "offered": self.options.offered,
            "consented": list(self.consented),
            "state": self.state,
            "message": self.message,
        }

    def consent(self, role: Role) -> bool:
        """`role` agrees; with both, recording starts (or is refused). True if state changed."""
        if self.state not in ("off", "waiting") or role in self.consented:
            return False
        self.consented.append(role)
        if len(self.consented) < 2:
            self.state = "waiting"
            self.message = "Recording starts when both of you agree."
            return True
        self._start()
        return True

    def _start(self) -> None:
        if self._free_mb() < self.options.min_free_mb:
            self.state = "refused"
            self.message = DISK_MESSAGE
            log.warning("room %s: recording refused: disk space is low", self.booking_id)
            return
        self.options.directory.mkdir(parents=True, exist_ok=True)
        self._origin = time.monotonic()
        self.started_at = self._now()
        for role in ROLES:
            self.recorders[role] = ParticipantRecorder(
                self.options.directory / f"{role}.webm",
                self._origin,
                self.options.totals,
                functools.partial(self._request_keyframe, role),
                self._write_manifest,
            )
        self.state = "running"
        self.message = "This call is being recorded."
        self.options.totals.running += 1
        self._write_manifest()
        for role in ROLES:
            self._request_keyframe(role)  # each file starts at a keyframe
        log.info("room %s: recording started", self.booking_id)

    def _free_mb(self) -> float:
        return free_bytes(self.options.directory) / 2**20

    def write(self, role: Role, kind: str, source: object, frame: EncodedFrame) -> None:
        """Every frame a participant's browser sends, while recording runs."""
        if self.state == "running":
            self.recorders[role].write(kind, source, frame)

    async def stop(self, reason: str) -> bool:
        """Stops for good (either side asked, or the call ended): closes and syncs the files.
        True if it was running or about to."""
        if self.state in ("stopped", "refused"):
            return False
        was_running = self.state == "running"
        self.state = "stopped"
        self.message = reason
        if not was_running:
            return True
        self.options.totals.running -= 1
        self.stopped_at = self._now()
        for recorder in self.recorders.values():
            recorder.detach()
        await asyncio.to_thread(self._finish)
        log.info("room %s: recording stopped", self.booking_id)
        return True

    def _finish(self) -> None:
        for recorder in self.recorders.values():
            recorder.finish()
        self._write_manifest(sync=True)

    def _write_manifest(self, sync: bool = False) -> None:
        """recording.json, atomically: temp file and rename (and fsync the directory)."""
        directory = self.options.directory
        files = {
            role: {"name": r.path.name, "offset_seconds": r.offset_seconds}
            for role, r in self.recorders.items()
            if r.started is not None and r.path.exists()
        }
        manifest = {
            "booking_id": int(self.booking_id),
            "started_at": _iso(self.started_at),
            "stopped_at": _iso(self.stopped_at),
            "files": files,
        }
        temporary = directory / f".{MANIFEST}.tmp"
        try:
            with temporary.open("w") as out:
                json.dump(manifest, out, indent=1)
                if sync:
                    out.flush()
                    os.fsync(out.fileno())
            temporary.replace(directory / MANIFEST)
            if sync:
                fd = os.open(directory, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            self.options.totals.failures += 1
            log.warning("room %s: writing %s failed: %s", self.booking_id, MANIFEST, exc)


def free_bytes(directory: Path) -> int:
    """Free space on the disk that holds `directory` (or would: it may not exist yet)."""
    path = directory
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return 0


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at is not None else None
