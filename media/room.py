"""A Room is one booked call: two roles, the media routed between them, and the timer.

The room knows the booking only as an opaque `room_id`. It never reads prices, users or
wallets; it emits events (media/events.py) and whoever listens reacts.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from aiortc import RTCIceServer

from media.events import (
    CallEnded,
    CallStarted,
    CallWarning,
    EndReason,
    FirstVideoForwarded,
    ParticipantConnected,
    ParticipantJoined,
    ParticipantLeft,
    RecordingChanged,
    Role,
    RoomEvent,
    VideoPaused,
    VideoResumed,
)
from media.forwarder import VideoGate
from media.frames import EncodedFrame
from media.participant import Participant
from media.recording.recorder import Recording, RecordingOptions
from media.rtp import LeanPacket
from media.stats import MediaCounts
from media.timer import CallTimer, Now, Sleep, utc_now

log = logging.getLogger("micromentor.media")
Listener = Callable[[RoomEvent], Awaitable[None] | None]
PeerState = Literal["absent", "joined", "left"]
OTHER: dict[Role, Role] = {"mentor": "mentee", "mentee": "mentor"}


class RoomClosed(Exception):
    """The call has ended; nobody can join it again."""


class RecordingNotOffered(Exception):
    """The booking did not ask for a recording, or the mentor does not allow one."""


@dataclass(frozen=True)
class RoomOptions:
    warning_seconds: float = 60
    ice_addresses: tuple[str, ...] = ()
    public_ip: str = ""
    ice_servers: list[RTCIceServer] = field(default_factory=list)
    udp_ports: tuple[int, int] | None = None
    # Below this estimate for a subscriber (kbit/s) it gets audio only; 0 = never.
    audio_only_below_kbps: int = 0
    recording: RecordingOptions | None = None  # None: recording is not offered


class CallClock:
    """What a Room and a media worker's RemoteRoom (media/workers/proxy.py) share: the call's
    timer (warning, end), the time both sides were connected together, and handing events to
    the listeners."""

    room_id: str
    options: RoomOptions
    listeners: list[Listener]
    participants: Mapping[Role, Any]  # each with `connected`
    timer: CallTimer | None
    together_seconds: float
    _together_since: datetime | None
    _now: Now
    _sleep: Sleep

    async def close(self, reason: EndReason) -> None:
        raise NotImplementedError

    @property
    def ends_at(self) -> datetime | None:
        return self.timer.ends_at if self.timer else None

    def _count_together(self) -> None:
        """Starts or stops the clock of time both sides spent connected together."""
        now = self._now()
        both = all(
            role in self.participants and self.participants[role].connected
            for role in ("mentor", "mentee")
        )
        if both and self._together_since is None:
            self._together_since = now
        elif not both and self._together_since is not None:
            self.together_seconds += (now - self._together_since).total_seconds()
            self._together_since = None

    def _start_timer(self, ends_at: datetime) -> None:
        self.timer = CallTimer(
            ends_at,
            self.options.warning_seconds,
            on_warning=self._warn,
            on_end=self._time_up,
            now=self._now,
            sleep=self._sleep,
        )
        self.timer.start()

    async def _warn(self, remaining_ms: int) -> None:
        assert self.timer is not None
        await self._emit(CallWarning(self.room_id, self.timer.ends_at, remaining_ms))

    async def _time_up(self) -> None:
        await self.close("time_up")

    async def _emit(self, event: RoomEvent) -> None:
        for listener in list(self.listeners):
            try:
                result = listener(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("room %s: a listener failed on %s", self.room_id, event)


class Room(CallClock):
    def __init__(
        self,
        room_id: str,
        *,
        end_time_for: Callable[[datetime], datetime],
        options: RoomOptions = RoomOptions(),
        started_at: datetime | None = None,
        ends_at: datetime | None = None,
        now: Now = utc_now,
        sleep: Sleep = asyncio.sleep,
        own_timer: bool = True,
    ) -> None:
        """`own_timer=False`: the room runs no CallTimer (a media worker's room: the main
        process keeps the call's clock and closes the room at the end)."""
        self.room_id = room_id
        self.own_timer = own_timer
        self.options = options
        self.participants: dict[Role, Participant] = {}
        self.listeners: list[Listener] = []
        self.started_at = started_at
        self.ended: EndReason | None = None
        self._end_time_for = end_time_for
        self._now = now
        self._sleep = sleep
        self._ever_joined: set[Role] = set()
        self._left: set[Role] = set()
        self._video_gates: dict[Role, VideoGate] = {}  # by subscriber: too weak for video?
        self.timer: CallTimer | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        self.together_seconds = 0.0
        self.retired = MediaCounts()  # what participants who have gone forwarded
        self._together_since: datetime | None = None
        self.recording: Recording | None = None
        if options.recording is not None and options.recording.offered:
            self.recording = Recording(
                options.recording, room_id, now=now, request_keyframe=self._keyframe_for_recording
            )
        if ends_at is not None and own_timer:
            self._start_timer(ends_at)

    # -- joining and leaving ------------------------------------------------------------------

    async def join(self, role: Role, offer_sdp: str) -> tuple[Participant, str]:
        """Negotiates `role`'s offer; a participant already there for the role is replaced."""
        if self.ended:
            raise RoomClosed(self.room_id)
        participant = Participant(
            self, role, ice_servers=self.options.ice_servers, on_state=self._participant_state
        )
        try:
            answer = await participant.answer(
                offer_sdp,
                self.options.ice_addresses,
                self.options.public_ip,
                self.options.udp_ports,
            )
        except BaseException:
            await participant.close()
            raise
        if self.ended:  # the call ended while we negotiated
            await participant.close()
            raise RoomClosed(self.room_id)
        previous = self.participants.get(role)
        self.participants[role] = participant
        gate = self._video_gates.get(role)
        self._video_gates[role] = VideoGate(
            self.options.audio_only_below_kbps * 1000, time.monotonic()
        )
        if gate is not None and gate.paused:  # the new connection starts with video
            await self._emit(VideoResumed(self.room_id, role))
        self._count_together()  # a replaced participant is not connected together any more
        self._ever_joined.add(role)
        self._left.discard(role)
        if previous is not None:
            await previous.close()
            await self._emit(ParticipantLeft(self.room_id, role, self._now(), "replaced"))
        await self._emit(ParticipantJoined(self.room_id, role, self._now()))
        return participant, answer

    async def leave(self, participant: Participant) -> None:
        """The participant said goodbye; when both have, the call ends."""
        role = participant.role
        if self.participants.get(role) is not participant:
            await participant.close()
            return
        del self.participants[role]
        self._left.add(role)
        self._count_together()
        await participant.close()
        await self._emit(ParticipantLeft(self.room_id, role, self._now(), "left"))
        if self._left == {"mentor", "mentee"}:
            await self.close("left")

    async def drop(
        self,
        participant: Participant,
        reason: Literal["disconnected", "failed"] = "disconnected",
    ) -> None:
        """The participant's connection went away without a goodbye; they may come back."""
        role = participant.role
        if self.participants.get(role) is not participant:
            return
        del self.participants[role]
        self._count_together()
        await participant.close()
        await self._emit(ParticipantLeft(self.room_id, role, self._now(), reason))

    def peer_state(self, role: Role) -> PeerState:
        """How `role` sees the other side: never came, here, or gone."""
        other = OTHER[role]
        if other in self.participants:
            return "joined"
        return "left" if other in self._ever_joined else "absent"

    def peer_gone(self, role: Role) -> Literal["left", "dropped"] | None:
        """Why the other side is gone: said goodbye, or lost its connection (it may come
        back by itself); None while it is here or never came."""
        other = OTHER[role]
        if other in self.participants or other not in self._ever_joined:
            return None
        return "left" if other in self._left else "dropped"

    # -- media routing ------------------------------------------------------------------------

    def forward(self, publisher: Participant, kind: str, packet: LeanPacket) -> None:
        """Called for every RTP packet a participant's browser sends."""
        if self.participants.get(publisher.role) is not publisher:
            return
        subscriber = self.participants.get(OTHER[publisher.role])
        if subscriber is not None:
            subscriber.forwarders[kind].push(publisher.receivers[kind], packet)
        if self.recording is not None and self.recording.state == "running":
            publisher.assemble(kind, packet)

    def record(self, publisher: Participant, kind: str, frame: EncodedFrame) -> None:
        """A frame assembled for the recording (only while it runs)."""
        if self.recording is not None:
            self.recording.write(publisher.role, kind, publisher.receivers[kind], frame)

    def first_video_forwarded(self, subscriber: Participant) -> None:
        seconds = time.monotonic() - subscriber.offered_at
        self._spawn(self._emit(FirstVideoForwarded(self.room_id, subscriber.role, seconds)))

    def retire(self, participant: Participant) -> None:
        """A participant's connection closed: keep its counts."""
        self.retired.add(participant.counts())

    def counts(self) -> MediaCounts:
        total = MediaCounts()
        total.add(self.retired)
        for participant in self.participants.values():
            if not participant.closed:
                total.add(participant.counts())
        return total

    def estimate_from(self, subscriber: Participant, bitrate: int) -> None:
        """The subscriber's REMB goes to its publisher: the browser that can send less. Too
        low, and the subscriber gets audio only until it recovers."""
        publisher = self.participants.get(OTHER[subscriber.role])
        if publisher is not None:
            publisher.relay_estimate(bitrate)
        gate = self._video_gates.get(subscriber.role)
        if gate is None or self.participants.get(subscriber.role) is not subscriber:
            return
        role = subscriber.role
        video = subscriber.forwarders["video"]
        action = gate.update(bitrate, time.monotonic(), flowing=video.packets_forwarded > 0)
        if action == "pause":
            video.pause()
            log.info("room %s: video to the %s paused at %d bit/s", self.room_id, role, bitrate)
            self._spawn(self._emit(VideoPaused(self.room_id, role)))
        elif action == "resume":
            video.resume()  # from a keyframe, asked of the publisher now
            log.info("room %s: video to the %s resumed at %d bit/s", self.room_id, role, bitrate)
            self._spawn(self._emit(VideoResumed(self.room_id, role)))

    def keyframe_wanted_by(self, subscriber: Participant) -> None:
        publisher = self.participants.get(OTHER[subscriber.role])
        if publisher is not None:
            publisher.request_keyframe()

    # -- recording, with both sides' consent (media/recording/recorder.py) --------------------

    def recording_status(self) -> dict[str, Any]:
        """What both pages show about recording (docs/api.md, the `state` message)."""
        if self.recording is None:
            return {"offered": False, "consented": [], "state": "off", "message": ""}
        return self.recording.status()

    async def consent_to_recording(self, role: Role) -> None:
        """`role` agrees to record; with both, recording starts (or is refused)."""
        if self.recording is None:
            raise RecordingNotOffered(self.room_id)
        if self.recording.consent(role):
            await self._emit(RecordingChanged(self.room_id, self.recording.state))

    async def stop_recording(self, role: Role) -> None:
        """Either side stops the recording; it does not restart."""
        if self.recording is None:
            raise RecordingNotOffered(self.room_id)
        if await self.recording.stop(f"Recording stopped by the {role}."):
            await self._emit(RecordingChanged(self.room_id, self.recording.state))

    def _keyframe_for_recording(self, role: Role) -> None:
        publisher = self.participants.get(role)
        if publisher is not None:
            publisher.request_keyframe()

    # -- connection states, the timer, the end --------------------------------------------------

    def _participant_state(self, participant: Participant, state: str) -> None:
        if self.participants.get(participant.role) is not participant:
            return
        if state == "connected":
            self._spawn(self._connected(participant))
        elif state in ("failed", "closed"):
            self._spawn(self.drop(participant, "failed" if state == "failed" else "disconnected"))

    async def _connected(self, participant: Participant) -> None:
        now = self._now()
        self._count_together()
        await self._emit(
            ParticipantConnected(
                self.room_id,
                participant.role,
                now,
                join_seconds=time.monotonic() - participant.offered_at,
                relayed=participant.relayed(),
            )
        )
        # A new subscriber decodes nothing until a keyframe: ask its publisher for one now.
        self.keyframe_wanted_by(participant)
        other = self.participants.get(OTHER[participant.role])
        if other is not None and other.connected and self.started_at is None:
            self.started_at = now
            ends_at = self._end_time_for(now)
            if self.own_timer:
                self._start_timer(ends_at)
            await self._emit(CallStarted(self.room_id, now, ends_at))

    async def close(self, reason: EndReason) -> None:
        """Ends the call: closes every peer connection, whatever the browsers do. Idempotent."""
        if self.ended:
            return
        self.ended = reason
        if self.timer is not None:
            self.timer.cancel()
        participants = list(self.participants.values())
        self.participants.clear()
        self._count_together()
        await asyncio.gather(*(p.close() for p in participants), return_exceptions=True)
        if self.recording is not None:  # the files are closed and synced before the end is told
            await self.recording.stop("Recording stopped: the call ended.")
        await self._emit(
            CallEnded(self.room_id, self.started_at, self._now(), reason, self.together_seconds)
        )

    # -- plumbing -------------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
