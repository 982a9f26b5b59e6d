"""Calls on this node: a Room per booking, the booking's clock kept in the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from aiohttp import web
from aiortc import RTCIceServer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from media.config import CallSettings, MediaSettings, RecordingSettings
from media.events import CallEnded, CallStarted, ParticipantConnected, Role, RoomEvent
from media.recording.recorder import RecordingOptions, free_bytes
from media.room import Room, RoomOptions
from media.rooms import Rooms
from media.timer import Sleep
from media.workers.pool import WorkerPool
from media.workers.proxy import RemoteRoom
from media.workers.wire import EndRule
from server.clock import Clock
from server.cluster.nodes import Cluster
from server.db import events
from server.db.engine import Database, log_failure
from server.db.models import JOINABLE, Booking, MentorProfile, call_outcome

log = logging.getLogger("micromentor.calls")
Outcome = Literal["completed", "mentor_no_show", "mentee_no_show"]  # call_outcome()


SWEEP_SECONDS = 30
LOOP_WATCH_SECONDS = 0.5


class CallUnavailable(Exception):
    """This booking's call cannot be joined now; `code` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Calls:
    def __init__(
        self,
        db: Database,
        calls: CallSettings,
        media: MediaSettings,
        *,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        join_early: timedelta = timedelta(minutes=5),
        on_sweep: Callable[[], Awaitable[object]] | None = None,
        on_outcome: Callable[[int, Outcome], Awaitable[None]] | None = None,
        sfu_ice_servers: Callable[[], list[RTCIceServer]] | None = None,
        observers: list[Callable[[RoomEvent], None]] | None = None,
        recording: RecordingSettings | None = None,
        recording_dir: Path | None = None,
    ) -> None:
        self.db = db
        self.recording = recording or RecordingSettings()
        self.recording_dir = recording_dir or Path(self.recording.directory)
        self.join_early = join_early
        self._on_sweep = on_sweep
        self._on_outcome = on_outcome
        self._sfu_ice_servers = sfu_ice_servers
        self._observers = observers or []
        self.settings = calls
        self.rooms = Rooms()
        # [media] workers: the rooms' media in worker processes (media/workers/), or here.
        self.workers = (
            WorkerPool(media.worker_count, recordings=self.rooms.recordings)
            if media.worker_count
            else None
        )
        self.options = RoomOptions(
            warning_seconds=calls.warning_seconds,
            ice_addresses=media.ice_addresses,
            public_ip=media.public_ip,
            udp_ports=media.udp_ports,
            audio_only_below_kbps=media.audio_only_below_kbps,
        )
        self.clock = clock
        self._sleep = sleep
        self.loop_lag_ms = 0.0
        self.stopping = False  # set on shutdown: no new joins, the pages retry elsewhere/later
        self.cluster: Cluster | None = None  # the nodes sharing the database (server/cluster)

    async def booking(self, booking_id: int) -> Booking | None:
        async with self.db.read() as s:
            return await s.get(Booking, booking_id)

    def check_joinable(self, booking: Booking, user_id: int) -> Role:
        """The user's role in this call, or CallUnavailable saying why they cannot join."""
        role = booking.role_of(user_id)
        if role is None:
            raise CallUnavailable("not_a_participant", "only the booking's mentor and mentee")
        if self.stopping:
            raise CallUnavailable(
                "server_restarting", "the server is restarting; try again in a few seconds"
            )
        if booking.call_ended_at is not None or booking.status not in JOINABLE:
            raise CallUnavailable(
                "call_ended" if booking.call_ended_at else "not_joinable",
                f"this call is {booking.status.replace('_', ' ')}",
            )
        now = self.clock()
        if now < booking.starts_at - self.join_early:
            opens = booking.starts_at - self.join_early
            raise CallUnavailable(
                "too_early", f"the call opens at {opens.isoformat().replace('+00:00', 'Z')}"
            )
        if booking.call_ends_at is not None and now >= booking.call_ends_at:
            raise CallUnavailable("call_ended", "this call's time is up")
        if now >= self.latest_end(booking):
            raise CallUnavailable("call_ended", "this call's time is up")
        return role  # type: ignore[return-value]

    def latest_end(self, booking: Booking) -> datetime:
        return booking.booked_end + timedelta(seconds=self.settings.grace_seconds)

    def projected_end(self, booking: Booking) -> datetime:
        """The end if the call started now (or its fixed end once it has started)."""
        if booking.call_ends_at is not None:
            return booking.call_ends_at
        return self.end_time_for(booking, self.clock())

    def end_time_for(self, booking: Booking, start: datetime) -> datetime:
        return min(
            start + timedelta(seconds=self.settings.duration_seconds), self.latest_end(booking)
        )

    async def recording_offered(self, booking: Booking) -> bool:
        """The mentee asked for a recording when booking and the mentor allows recording."""
        if not booking.record:
            return False
        async with self.db.read() as s:
            profile = await s.get(MentorProfile, booking.mentor_id)
        return profile is None or profile.allow_recording

    def recording_disk_free(self) -> int:
        """Free bytes on the disk that holds the recordings (for the metrics)."""
        return free_bytes(self.recording_dir)

    def room_for(self, booking: Booking, *, record: bool = False) -> Room | RemoteRoom:
        """This booking's room, created on first use. No await: two joins get one room.
        `record`: recording is offered (`recording_offered`). With media workers, a RemoteRoom
        on the least-loaded one (same interface)."""
        room_id = str(booking.id)
        room = self.rooms.get(room_id)
        if room is not None:
            return room
        options = replace(
            self.options,
            recording=RecordingOptions(
                offered=record,
                directory=self.recording_dir / room_id,
                min_free_mb=self.recording.min_free_mb,
                totals=self.rooms.recordings,
            ),
        )
        if self._sfu_ice_servers is not None:  # fresh TURN credentials for this room's PCs
            options = replace(options, ice_servers=self._sfu_ice_servers())
        room: Room | RemoteRoom
        if self.workers is not None:
            room = self.workers.open_room(
                room_id,
                rule=EndRule(self.settings.duration_seconds, self.latest_end(booking)),
                options=options,
                started_at=booking.call_started_at,
                ends_at=booking.call_ends_at,
                now=self.clock,
                sleep=self._sleep,
            )
        else:
            room = Room(
                room_id,
                end_time_for=lambda start: self.end_time_for(booking, start),
                options=options,
                started_at=booking.call_started_at,
                ends_at=booking.call_ends_at,
                now=self.clock,
                sleep=self._sleep,
            )
        room.listeners.append(self.on_room_event)
        room.listeners.extend(self._observers)
        self.rooms.add(room)
        return room

    async def on_room_event(self, event: RoomEvent) -> None:
        booking_id = int(event.room_id)
        if isinstance(event, CallStarted):
            async with self.db.write() as s:
                await s.execute(
                    update(Booking)
                    .where(Booking.id == booking_id, Booking.call_started_at.is_(None))
                    .values(
                        status="in_call",
                        call_started_at=event.started_at,
                        call_ends_at=event.ends_at,
                    )
                )
            log.info("call %s started; ends at %s", booking_id, event.ends_at.isoformat())
        elif isinstance(event, ParticipantConnected):
            column = (
                Booking.mentor_connected_at
                if event.role == "mentor"
                else Booking.mentee_connected_at
            )
            async with self.db.write() as s:
                await s.execute(
                    update(Booking)
                    .where(Booking.id == booking_id, column.is_(None))
                    .values({column.key: event.at})
                )
        elif isinstance(event, CallEnded):
            self.rooms.discard(event.room_id)
            async with self.db.write() as s:
                booking = await s.get(Booking, booking_id)
                if booking is None or booking.call_ended_at is not None:
                    return
                booking.together_seconds += int(event.together_seconds)
                if event.reason == "server_shutdown":
                    return  # not over: the participants rejoin when the server is back
                self._finish(s, booking, event.ended_at, event.reason)
            log.info("call %s ended: %s (%s)", booking_id, event.reason, booking.status)
            await self._settle(booking)

    def _finish(self, s: AsyncSession, booking: Booking, ended_at: datetime, reason: str) -> None:
        """The outcome: completed when both were connected together long enough (an event in
        the same transaction asks the mentee to rate it), else a no-show of whoever never came
        ("both" when neither did)."""
        booking.call_ended_at = ended_at
        booking.end_reason = reason
        if booking.together_seconds >= self.settings.min_completed_seconds:
            booking.status = "completed"
            events.record(s, "call_completed", booking.id, ended_at)
            return
        booking.status = "no_show"
        missing = [
            role
            for role, at in (
                ("mentor", booking.mentor_connected_at),
                ("mentee", booking.mentee_connected_at),
            )
            if at is None
        ]
        booking.no_show_role = "both" if len(missing) == 2 else (missing[0] if missing else None)

    async def _settle(self, booking: Booking) -> None:
        """Tells the money side how the call went (after the outcome is stored)."""
        if self._on_outcome is not None:
            await self._on_outcome(booking.id, call_outcome(booking))

    async def finish_overdue(self) -> int:
        """Ends calls whose time ran out: an open room is closed (its end decides the outcome);
        without one (nobody came, or a restart), the booking is settled here."""
        now = self.clock()
        async with self.db.read() as s:
            rows = list(
                await s.scalars(
                    select(Booking).where(
                        Booking.status.in_(JOINABLE), Booking.call_ended_at.is_(None)
                    )
                )
            )
        overdue = [b for b in rows if now >= (b.call_ends_at or self.latest_end(b))]
        for booking in overdue:
            room = self.rooms.get(str(booking.id))
            if room is not None:
                await room.close("time_up")
                continue
            if self.cluster is not None and await self.cluster.held_elsewhere(booking.id):
                continue  # a live node holds this call: its room ends it
            async with self.db.write() as s:  # locked: of several nodes, one settles it
                stored = await s.get(Booking, booking.id, with_for_update=True)
                if stored is None or stored.call_ended_at is not None:
                    continue
                self._finish(s, stored, stored.call_ends_at or self.latest_end(stored), "time_up")
            await self._settle(stored)
        return len(overdue)

    async def due_without_room(self) -> int:
        """Paid calls that began at least five minutes ago and nobody has opened."""
        cutoff = self.clock() - timedelta(minutes=5)
        async with self.db.read() as s:
            rows = list(
                await s.scalars(
                    select(Booking).where(
                        Booking.status == "confirmed",
                        Booking.starts_at <= cutoff,
                        Booking.call_ended_at.is_(None),
                        Booking.mentor_connected_at.is_(None),
                        Booking.mentee_connected_at.is_(None),
                    )
                )
            )
        return sum(1 for b in rows if self.rooms.get(str(b.id)) is None)

    async def shutdown(self) -> None:
        """Takes no new joins and ends every call with `server_shutdown` while the sockets can
        still say so (the pages retry until the server is back)."""
        self.stopping = True
        await self.rooms.close_all("server_shutdown")

    async def run(self) -> AsyncIterator[None]:
        """The media workers and the background sweeper, for the app's cleanup context."""
        if self.workers is not None:
            await self.workers.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        sweeper = loop.create_task(self._sweep(stop))
        watcher = loop.create_task(self._watch_loop(stop))
        yield
        stop.set()
        await sweeper  # let a sweep in progress finish its transaction
        await watcher
        await self.shutdown()
        if self.workers is not None:
            await self.workers.stop()

    async def _watch_loop(self, stop: asyncio.Event) -> None:
        """Measures how late the event loop runs a timer: media shares this loop when
        [media] workers = 0."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            asked = loop.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), LOOP_WATCH_SECONDS)
            if not stop.is_set():
                self.loop_lag_ms = max(0.0, (loop.time() - asked - LOOP_WATCH_SECONDS) * 1000)

    async def _sweep(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.finish_overdue()
                if self._on_sweep is not None:
                    await self._on_sweep()
            except Exception as exc:
                log_failure(log, "sweeping overdue calls failed", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SWEEP_SECONDS)


CALLS = web.AppKey("calls", Calls)
