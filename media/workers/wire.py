"""What crosses the channel between the main process and a media worker: one JSON object per
line over a Unix socket. Events, room options and counts are turned into JSON and back here.

Main to worker: {"op": "open" | "join" | "candidate" | "keyframe" | "leave" | "drop" |
"consent" | "stop_recording" | "close", "room": id, "id": request number, ...} and
{"op": "shutdown"}. Worker to main: {"hello": index}, {"room": id, "event": {...}, "state":
{...}}, {"room": id, "reply": request number, ...} and {"report": {...}} every second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiortc import RTCIceServer

from media.events import (
    CallEnded,
    CallStarted,
    CallWarning,
    FirstVideoForwarded,
    ParticipantConnected,
    ParticipantJoined,
    ParticipantLeft,
    RecordingChanged,
    RoomEvent,
    VideoPaused,
    VideoResumed,
)
from media.participant import MediaUnavailable
from media.recording.recorder import RecordingOptions, RecordingTotals
from media.room import RecordingNotOffered, RoomClosed, RoomOptions
from media.sdp import SdpError
from media.stats import MediaCounts, StreamQuality

# A line may carry an SDP or a report of every room in a worker: far above asyncio's 64 KiB.
LINE_LIMIT = 64 * 2**20
EVENTS: dict[str, type[RoomEvent]] = {
    cls.__name__: cls
    for cls in (
        ParticipantJoined,
        ParticipantConnected,
        FirstVideoForwarded,
        ParticipantLeft,
        VideoPaused,
        VideoResumed,
        RecordingChanged,
        CallStarted,
        CallWarning,
        CallEnded,
    )
}
# The errors a command may answer with, by name; any other becomes a RuntimeError.
ERRORS: dict[str, type[Exception]] = {
    cls.__name__: cls for cls in (SdpError, MediaUnavailable, RoomClosed, RecordingNotOffered)
}


@dataclass(frozen=True)
class EndRule:
    """When a call that starts at `start` ends: its duration, but never past the latest end
    (the booked end plus the grace)."""

    duration_seconds: float
    latest: datetime

    def at(self, start: datetime) -> datetime:
        return min(start + timedelta(seconds=self.duration_seconds), self.latest)


class Channel:
    """JSON lines over a stream pair. `send` only buffers; `drain` waits for the socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def send(self, message: dict[str, Any]) -> None:
        if not self.writer.is_closing():
            self.writer.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    async def drain(self) -> None:
        if not self.writer.is_closing():
            await self.writer.drain()

    async def receive(self) -> dict[str, Any] | None:
        """The next message, or None when the other side has closed the channel."""
        try:
            line = await self.reader.readline()
        except (ConnectionError, asyncio.IncompleteReadError):
            return None
        if not line:
            return None
        message: dict[str, Any] = json.loads(line)
        return message

    def close(self) -> None:
        self.writer.close()


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def encode_event(event: RoomEvent) -> dict[str, Any]:
    fields = {
        f.name: iso(v) if isinstance(v := getattr(event, f.name), datetime) else v
        for f in dataclasses.fields(event)
    }
    return {"type": type(event).__name__, **fields}


def decode_event(data: dict[str, Any]) -> RoomEvent:
    cls = EVENTS[data["type"]]
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        value = data[f.name]
        values[f.name] = from_iso(value) if "datetime" in str(f.type) else value
    return cls(**values)


def encode_error(exc: Exception) -> dict[str, str]:
    name = type(exc).__name__
    return {"error": name if name in ERRORS else "RuntimeError", "message": str(exc)}


def decode_error(reply: dict[str, Any]) -> Exception:
    return ERRORS.get(reply["error"], RuntimeError)(reply.get("message", ""))


def encode_options(options: RoomOptions) -> dict[str, Any]:
    recording = options.recording
    return {
        "ice_addresses": list(options.ice_addresses),
        "public_ip": options.public_ip,
        "ice_servers": [
            {"urls": s.urls, "username": s.username, "credential": s.credential}
            for s in options.ice_servers
        ],
        "udp_ports": list(options.udp_ports) if options.udp_ports else None,
        "audio_only_below_kbps": options.audio_only_below_kbps,
        "recording": None
        if recording is None
        else {
            "offered": recording.offered,
            "directory": str(recording.directory),
            "min_free_mb": recording.min_free_mb,
        },
    }


def decode_options(data: dict[str, Any], totals: RecordingTotals) -> RoomOptions:
    """The room's options in the worker: no warning (the main process keeps the timer), and
    the recorders count into the worker's totals."""
    recording = data["recording"]
    ports = data["udp_ports"]
    return RoomOptions(
        ice_addresses=tuple(data["ice_addresses"]),
        public_ip=data["public_ip"],
        ice_servers=[RTCIceServer(**server) for server in data["ice_servers"]],
        udp_ports=(ports[0], ports[1]) if ports else None,
        audio_only_below_kbps=data["audio_only_below_kbps"],
        recording=None
        if recording is None
        else RecordingOptions(
            offered=recording["offered"],
            directory=Path(recording["directory"]),
            min_free_mb=recording["min_free_mb"],
            totals=totals,
        ),
    )


def encode_counts(counts: MediaCounts) -> dict[str, Any]:
    return {
        "packets": [[kind, way, n] for (kind, way), n in counts.packets.items()],
        "bytes": [[kind, way, n] for (kind, way), n in counts.bytes.items()],
        "keyframe_requests": counts.keyframe_requests,
    }


def decode_counts(data: dict[str, Any]) -> MediaCounts:
    counts = MediaCounts(keyframe_requests=data["keyframe_requests"])
    for kind, way, n in data["packets"]:
        counts.packets[(kind, way)] = n
    for kind, way, n in data["bytes"]:
        counts.bytes[(kind, way)] = n
    return counts


def encode_quality(found: list[StreamQuality]) -> list[list[Any]]:
    return [[q.kind, q.loss, q.jitter_seconds, q.rtt_seconds] for q in found]


def decode_quality(data: list[list[Any]]) -> list[StreamQuality]:
    return [StreamQuality(kind, loss, jitter, rtt) for kind, loss, jitter, rtt in data]


def encode_totals(totals: RecordingTotals) -> dict[str, int]:
    return dataclasses.asdict(totals)
