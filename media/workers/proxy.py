"""A call whose media runs in a worker, as the main process sees it: a RemoteRoom has the
interface of media.room.Room that signaling, the calls service and the metrics use, and relays
each command to the real Room in its worker.

The main process's clock is the call's clock: the RemoteRoom owns the CallTimer (warning, end),
fixes the start and the end when the worker reports both sides connected, counts the time both
were connected together, and stamps the events' times. Events and replies from the worker are
handed on in the order they came, one room at a time, so listeners see what they would see
from an in-process Room. When the worker dies, the room ends with "server_shutdown": the
participants rejoin, and the next join makes a new room on a live worker with the same end.

A listener must not await a command of the room whose event it is handling (the reply would
queue behind it); none does: they send messages and write to the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal, Protocol

from media.events import (
    CallEnded,
    CallStarted,
    EndReason,
    ParticipantConnected,
    ParticipantJoined,
    ParticipantLeft,
    Role,
    RoomEvent,
)
from media.participant import MediaUnavailable
from media.recording.recorder import Recording
from media.room import CallClock, Listener, PeerState, RoomClosed, RoomOptions
from media.stats import MediaCounts, StreamQuality
from media.timer import CallTimer, Now, Sleep, utc_now
from media.workers.process import WorkerProcess
from media.workers.wire import (
    EndRule,
    decode_counts,
    decode_error,
    decode_event,
    decode_quality,
    encode_options,
    iso,
)

log = logging.getLogger("micromentor.media.workers")
LOST: dict[str, Any] = {"lost": True}  # queued when the worker died


class Slot(Protocol):
    """Where a room lives (pool.py): one worker's place, across its restarts."""

    index: int

    async def live_process(self) -> WorkerProcess:
        """The running worker, after waiting for a restart; MediaUnavailable if none comes."""
        ...

    def release(self, room: RemoteRoom) -> None:
        """The room has ended: it no longer counts on this worker."""
        ...


class RemoteParticipant:
    """A participant of a RemoteRoom: a number in the worker's room."""

    def __init__(self, room: RemoteRoom, number: int, role: Role) -> None:
        self.room = room
        self.number = number
        self.role = role
        self.connected = False
        self.closed = False
        self._quality: list[StreamQuality] = []

    async def add_candidate(
        self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        if not candidate or self.closed:
            return
        await self.room._quietly(
            "candidate",
            participant=self.number,
            candidate=candidate,
            sdp_mid=sdp_mid,
            sdp_mline_index=sdp_mline_index,
        )

    def request_keyframe(self) -> None:
        self.room._tell("keyframe", participant=self.number)

    def quality(self) -> list[StreamQuality]:
        """What RTCP said about this participant's streams at the worker's last report."""
        return self._quality


class RemoteRoom(CallClock):
    def __init__(
        self,
        room_id: str,
        slot: Slot,
        *,
        rule: EndRule,
        options: RoomOptions,
        started_at: datetime | None = None,
        ends_at: datetime | None = None,
        now: Now = utc_now,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.room_id = room_id
        self.slot = slot
        self.options = options
        self.participants: dict[Role, RemoteParticipant] = {}
        self.listeners: list[Listener] = []
        self.started_at = started_at
        self.ended: EndReason | None = None
        self.timer: CallTimer | None = None
        self.together_seconds = 0.0
        self._rule = rule
        self._now = now
        self._sleep = sleep
        self._process: WorkerProcess | None = None
        self._opening: asyncio.Future[WorkerProcess] | None = None
        self._handles: dict[int, RemoteParticipant] = {}
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._numbers = itertools.count(1)
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._dispatcher: asyncio.Task[None] | None = None
        self._counts = MediaCounts()
        self._together_since: datetime | None = None
        self._peer_state: dict[str, PeerState] = {}
        self._peer_gone: dict[str, Literal["left", "dropped"] | None] = {}
        self._recording = _initial_recording_status(options, room_id, now)
        if ends_at is not None:
            self._start_timer(ends_at)

    # -- what CallConnection and Calls use: the interface of media.room.Room -------------------

    async def join(self, role: Role, offer_sdp: str) -> tuple[RemoteParticipant, str]:
        """Negotiates `role`'s offer in the worker; raises what Room.join raises."""
        reply = await self._ask("join", role=role, sdp=offer_sdp)
        handle = self._handle(reply["participant"], role)
        return handle, reply["sdp"]

    async def leave(self, participant: RemoteParticipant) -> None:
        await self._quietly("leave", participant=participant.number)

    async def drop(
        self,
        participant: RemoteParticipant,
        reason: Literal["disconnected", "failed"] = "disconnected",
    ) -> None:
        await self._quietly("drop", participant=participant.number, reason=reason)

    def peer_state(self, role: Role) -> PeerState:
        return self._peer_state.get(role, "absent")

    def peer_gone(self, role: Role) -> Literal["left", "dropped"] | None:
        return self._peer_gone.get(role)

    def recording_status(self) -> dict[str, Any]:
        return self._recording

    async def consent_to_recording(self, role: Role) -> None:
        """Raises RecordingNotOffered as Room does; after the end, nothing happens."""
        await self._quietly("consent", role=role)

    async def stop_recording(self, role: Role) -> None:
        await self._quietly("stop_recording", role=role)

    def counts(self) -> MediaCounts:
        """What the room forwarded, as of the worker's last report (final once ended)."""
        return self._counts

    async def close(self, reason: EndReason) -> None:
        """Ends the call in the worker; returns once listeners have heard CallEnded."""
        if self.ended:
            return
        if self._process is None:
            await self._end(reason)  # not open in a worker (yet): nothing to close there
            return
        await self._quietly("close", reason=reason)

    # -- the channel ------------------------------------------------------------------------------

    @property
    def worker(self) -> int:
        return self.slot.index

    def deliver(self, process: WorkerProcess, message: dict[str, Any]) -> None:
        """A message from a worker for this room id (the pool's reader calls this)."""
        if process is self._process:
            self._inbox.put_nowait(message)

    def worker_lost(self, process: WorkerProcess) -> bool:
        """A worker has died: if this room lived there, it ends (server_shutdown)."""
        if process is not self._process or self.ended:
            return False
        self._inbox.put_nowait(LOST)
        return True

    async def _open(self) -> WorkerProcess:
        if self.ended:
            raise RoomClosed(self.room_id)
        if self._process is not None:
            return self._process
        if self._opening is None:  # the first command opens the room in the worker
            self._opening = asyncio.ensure_future(self._open_in_worker())
        opening = self._opening
        try:
            process = await asyncio.shield(opening)
        except MediaUnavailable:  # no worker came up in time: the next command tries again
            if self._opening is opening:
                self._opening = None
            raise
        if self.ended:
            raise RoomClosed(self.room_id)
        return process

    async def _open_in_worker(self) -> WorkerProcess:
        process = await self.slot.live_process()
        if self.ended:  # closed while it waited for a worker
            raise RoomClosed(self.room_id)
        self._process = process
        self._dispatcher = asyncio.get_running_loop().create_task(
            self._dispatch(), name=f"room-{self.room_id}"
        )
        process.send(
            {
                "op": "open",
                "room": self.room_id,
                "options": encode_options(self.options),
                "started_at": iso(self.started_at),
                "rule": {
                    "duration_seconds": self._rule.duration_seconds,
                    "latest": iso(self._rule.latest),
                },
            }
        )
        return process

    async def _ask(self, op: str, **fields: Any) -> dict[str, Any]:
        """Sends a command and waits for its reply; raises the worker's error (RoomClosed if
        the room ends first)."""
        process = await self._open()
        number = next(self._numbers)
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[number] = reply
        process.send({"op": op, "room": self.room_id, "id": number, **fields})
        await process.drain()
        return await reply

    async def _quietly(self, op: str, **fields: Any) -> None:
        """A command whose only news is that it is done, or its error (SdpError,
        RecordingNotOffered): in a room that has ended or whose worker died meanwhile there is
        nothing left to do, as with an in-process Room."""
        with contextlib.suppress(RoomClosed):
            await self._ask(op, **fields)

    def _tell(self, op: str, **fields: Any) -> None:
        if self._process is not None and not self.ended:
            self._process.send({"op": op, "room": self.room_id, **fields})

    async def _dispatch(self) -> None:
        while not self.ended:
            message = await self._inbox.get()
            try:
                await self._take(message)
            except Exception:
                log.exception("room %s: a message from its worker failed", self.room_id)

    async def _take(self, message: dict[str, Any]) -> None:
        if message is LOST:
            await self._end("server_shutdown")
            return
        if "state" in message:
            self._apply(message["state"])
        if "counts" in message:
            self._counts = decode_counts(message["counts"])
        if "event" in message:
            await self._on_event(decode_event(message["event"]))
        elif "reply" in message:
            future = self._pending.pop(message["reply"], None)
            if future is not None and not future.done():
                if "error" in message:
                    future.set_exception(decode_error(message))
                else:
                    future.set_result(message)

    def report(self, process: WorkerProcess, report: dict[str, Any]) -> None:
        """The worker's periodic report of this room: its counts and RTCP quality."""
        if self.ended or process is not self._process:
            return
        self._counts = decode_counts(report["counts"])
        for role, quality in report["quality"].items():
            participant = self.participants.get(role)
            if participant is not None:
                participant._quality = decode_quality(quality)

    # -- state and events -------------------------------------------------------------------------

    def _handle(self, number: int, role: Role) -> RemoteParticipant:
        if number not in self._handles:
            self._handles[number] = RemoteParticipant(self, number, role)
        return self._handles[number]

    def _apply(self, state: dict[str, Any]) -> None:
        """Mirrors the worker room's state as of the message."""
        present: dict[Role, RemoteParticipant] = {}
        for role, seen in state["participants"].items():
            handle = self._handle(seen["id"], role)
            handle.connected = seen["connected"]
            present[role] = handle
        for number, handle in list(self._handles.items()):
            if handle not in present.values():
                handle.closed = True
                handle.connected = False
                del self._handles[number]
        self.participants = present
        self._peer_state = state["peer_state"]
        self._peer_gone = state["peer_gone"]
        self._recording = state["recording"]
        self._count_together()

    async def _on_event(self, event: RoomEvent) -> None:
        """The worker's event, with this process's times, handed to the listeners."""
        now = self._now()
        if isinstance(event, ParticipantJoined | ParticipantConnected | ParticipantLeft):
            event = replace(event, at=now)
        elif isinstance(event, CallStarted):
            if self.started_at is not None:
                return  # fixed already (a restart of the room)
            self.started_at = now
            ends_at = self._rule.at(now)
            self._start_timer(ends_at)
            event = CallStarted(self.room_id, now, ends_at)
        elif isinstance(event, CallEnded):
            await self._end(event.reason)
            return
        await self._emit(event)

    async def _end(self, reason: EndReason) -> None:
        """The call is over in its worker (or the worker is gone): tell the listeners once."""
        if self.ended:
            return
        self.ended = reason
        if self.timer is not None:
            self.timer.cancel()
        for handle in self._handles.values():
            handle.closed = True
            handle.connected = False
        self.participants = {}
        self._count_together()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(RoomClosed(self.room_id))
        self._pending.clear()
        self.slot.release(self)
        await self._emit(
            CallEnded(self.room_id, self.started_at, self._now(), reason, self.together_seconds)
        )


def _initial_recording_status(options: RoomOptions, room_id: str, now: Now) -> dict[str, Any]:
    """What the pages show before the worker has said anything: the status a new Recording
    has (a call recorded before a restart says so)."""
    if options.recording is None:
        return {"offered": False, "consented": [], "state": "off", "message": ""}
    return Recording(options.recording, room_id, now=now, request_keyframe=_no_keyframe).status()


def _no_keyframe(_role: Role) -> None:
    pass
