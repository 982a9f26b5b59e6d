"""The worker's side of the channel: real media.room.Room objects, driven by the main process's
commands; their events go back with the state the main process mirrors (who is here, who left,
recording), and every second a report of what each room forwarded.

Participants are named by a number per room, since objects do not cross processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from typing import Any

from media.events import CallEnded, Role, RoomEvent
from media.participant import Participant
from media.ports.guard import DROPPED
from media.room import Room, RoomClosed
from media.rooms import Rooms
from media.workers.wire import (
    ERRORS,
    Channel,
    EndRule,
    decode_options,
    encode_counts,
    encode_error,
    encode_event,
    encode_quality,
    encode_totals,
    from_iso,
)

log = logging.getLogger("micromentor.media.worker")
REPORT_SECONDS = 1.0
ROLES: tuple[Role, Role] = ("mentor", "mentee")


class HostedRoom:
    """A room and the numbers its participants go by on the channel."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self._by_id: dict[int, Participant] = {}
        self._ids: dict[Participant, int] = {}

    def id_of(self, participant: Participant) -> int:
        if participant not in self._ids:
            number = len(self._ids) + 1
            self._ids[participant] = number
            self._by_id[number] = participant
        return self._ids[participant]

    def participant(self, number: int) -> Participant | None:
        return self._by_id.get(number)

    def state(self) -> dict[str, Any]:
        room = self.room
        return {
            "participants": {
                role: {"id": self.id_of(p), "connected": p.connected}
                for role, p in room.participants.items()
            },
            "peer_state": {role: room.peer_state(role) for role in ROLES},
            "peer_gone": {role: room.peer_gone(role) for role in ROLES},
            "recording": room.recording_status(),
        }

    def report(self) -> dict[str, Any]:
        room = self.room
        return {
            "counts": encode_counts(room.counts()),
            "quality": {
                role: encode_quality(p.quality())
                for role, p in room.participants.items()
                if not p.closed
            },
        }


class Host:
    def __init__(self, channel: Channel, index: int) -> None:
        self.channel = channel
        self.index = index
        self.rooms = Rooms()
        self.hosted: dict[str, HostedRoom] = {}
        self.loop_lag_ms = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self) -> None:
        """Runs commands until the main process says shutdown or goes away."""
        reporter = asyncio.get_running_loop().create_task(self._report_every_second())
        try:
            while (message := await self.channel.receive()) is not None:
                if message["op"] == "shutdown":
                    break
                self._handle(message)
        finally:
            reporter.cancel()
            await self.close_all()
            self._report()  # the last counts, if anyone still listens
            with contextlib.suppress(ConnectionError):
                await self.channel.drain()

    async def close_all(self) -> None:
        await self.rooms.close_all("server_shutdown")

    def _handle(self, message: dict[str, Any]) -> None:
        if message["op"] == "open":
            self._open(message)  # at once: the commands after it find the room
            return
        task = asyncio.get_running_loop().create_task(self._command(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _open(self, message: dict[str, Any]) -> None:
        room_id = message["room"]
        rule = EndRule(
            message["rule"]["duration_seconds"], datetime.fromisoformat(message["rule"]["latest"])
        )
        room = Room(
            room_id,
            end_time_for=rule.at,
            options=decode_options(message["options"], self.rooms.recordings),
            started_at=from_iso(message["started_at"]),
            own_timer=False,  # the main process keeps the call's clock
        )
        hosted = HostedRoom(room)
        room.listeners.append(lambda event: self._emit(hosted, event))
        self.hosted[room_id] = hosted
        self.rooms.add(room)

    def _emit(self, hosted: HostedRoom, event: RoomEvent) -> None:
        message: dict[str, Any] = {
            "room": hosted.room.room_id,
            "event": encode_event(event),
            "state": hosted.state(),
        }
        if isinstance(event, CallEnded) and self.hosted.get(hosted.room.room_id) is hosted:
            message["counts"] = encode_counts(hosted.room.counts())
            self.rooms.discard(hosted.room.room_id)
            del self.hosted[hosted.room.room_id]
        self.channel.send(message)

    async def _command(self, message: dict[str, Any]) -> None:
        room_id = message["room"]
        reply: dict[str, Any] = {"room": room_id, "reply": message.get("id")}
        try:
            hosted = self.hosted.get(room_id)
            if hosted is None:
                raise RoomClosed(room_id)
            reply.update(await self._run(hosted, message))
            reply["state"] = hosted.state()
        except Exception as exc:
            if type(exc) not in ERRORS.values():  # the expected refusals are no news
                log.exception("worker %d: room %s: %s failed", self.index, room_id, message["op"])
            reply.update(encode_error(exc))
        if message.get("id") is not None:
            self.channel.send(reply)
            await self.channel.drain()

    async def _run(self, hosted: HostedRoom, message: dict[str, Any]) -> dict[str, Any]:
        room = hosted.room
        op = message["op"]
        if op == "join":
            joined, answer = await room.join(message["role"], message["sdp"])
            return {"participant": hosted.id_of(joined), "sdp": answer}
        if op == "close":
            await room.close(message["reason"])
            return {}
        if op == "consent":
            await room.consent_to_recording(message["role"])
            return {}
        if op == "stop_recording":
            await room.stop_recording(message["role"])
            return {}
        participant = hosted.participant(message["participant"])
        if participant is None:
            return {}  # gone already: nothing to do
        if op == "candidate":
            await participant.add_candidate(
                message["candidate"], message["sdp_mid"], message["sdp_mline_index"]
            )
        elif op == "keyframe":
            participant.request_keyframe()
        elif op == "leave":
            await room.leave(participant)
        elif op == "drop":
            await room.drop(participant, message["reason"])
        else:
            raise ValueError(f"unknown command {op!r}")
        return {}

    async def _report_every_second(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(REPORT_SECONDS)
            self.loop_lag_ms = max(0.0, (loop.time() - asked - REPORT_SECONDS) * 1000)
            self._report()

    def _report(self) -> None:
        self.channel.send(
            {
                "report": {
                    "at": time.time(),
                    "rooms": {room_id: h.report() for room_id, h in self.hosted.items()},
                    "counts": encode_counts(self.rooms.counts()),
                    "recordings": encode_totals(self.rooms.recordings),
                    "dropped": dict(DROPPED.counts),
                    "loop_lag_ms": self.loop_lag_ms,
                }
            }
        )
