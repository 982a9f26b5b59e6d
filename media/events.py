"""What a Room tells its listeners. media/ emits these; server/ and signaling/ react."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Role = Literal["mentor", "mentee"]
EndReason = Literal["time_up", "cancelled", "left", "server_shutdown"]


@dataclass(frozen=True)
class ParticipantJoined:
    room_id: str
    role: Role
    at: datetime


@dataclass(frozen=True)
class ParticipantConnected:
    """Media flows: ICE and DTLS are up for this participant."""

    room_id: str
    role: Role
    at: datetime
    join_seconds: float = 0.0  # from the offer to ICE and DTLS up
    relayed: bool = False  # the browser reaches the SFU through a TURN relay


@dataclass(frozen=True)
class FirstVideoForwarded:
    """The first video frame reached this participant after they (re)joined."""

    room_id: str
    role: Role
    seconds: float  # from the offer


@dataclass(frozen=True)
class ParticipantLeft:
    room_id: str
    role: Role
    at: datetime
    reason: Literal["left", "disconnected", "replaced", "failed"]


@dataclass(frozen=True)
class VideoPaused:
    """The SFU stopped forwarding video to `role` (its connection is too weak); audio goes on."""

    room_id: str
    role: Role  # the subscriber whose video is paused
    reason: Literal["weak_connection"] = "weak_connection"


@dataclass(frozen=True)
class VideoResumed:
    """Video to `role` flows again (from a keyframe)."""

    room_id: str
    role: Role


@dataclass(frozen=True)
class RecordingChanged:
    """Someone agreed to record, or recording started, stopped or was refused: both pages
    get the room's recording status again."""

    room_id: str
    state: str


@dataclass(frozen=True)
class CallStarted:
    """Mentor and mentee were connected together for the first time; the end is fixed now."""

    room_id: str
    started_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class CallWarning:
    room_id: str
    ends_at: datetime
    remaining_ms: int


@dataclass(frozen=True)
class CallEnded:
    room_id: str
    started_at: datetime | None
    ended_at: datetime
    reason: EndReason
    together_seconds: float = 0.0  # how long mentor and mentee were connected together


RoomEvent = (
    ParticipantJoined
    | ParticipantConnected
    | FirstVideoForwarded
    | ParticipantLeft
    | VideoPaused
    | VideoResumed
    | RecordingChanged
    | CallStarted
    | CallWarning
    | CallEnded
)
