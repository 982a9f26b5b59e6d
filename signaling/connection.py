"""One participant's call WebSocket: its state machine, independent of the web framework.

The server's handler feeds it text frames and tells it when the socket is gone; it answers
through `send` and `close`. It never raises to its caller: bad input becomes an `error`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from media.events import (
    CallEnded,
    CallStarted,
    CallWarning,
    ParticipantJoined,
    ParticipantLeft,
    RecordingChanged,
    Role,
    RoomEvent,
    VideoPaused,
    VideoResumed,
)
from media.participant import MediaUnavailable, Participant
from media.room import RecordingNotOffered, Room, RoomClosed
from media.sdp import SdpError
from signaling.protocol import (
    Candidate,
    Chat,
    ClientMessage,
    Offer,
    ProtocolError,
    RecordConsent,
    RecordStop,
    VideoSource,
    parse_message,
)

log = logging.getLogger("micromentor.signaling")
Send = Callable[[dict[str, Any]], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]
# After this many messages over the rate limit, the connection is closed (1008).
FLOOD_LIMIT = 200
POLICY_VIOLATION = 1008


class ChatStore(Protocol):
    async def save_chat(self, room_id: str, role: Role, text: str, at: datetime) -> None: ...


class CallConnection:
    def __init__(
        self,
        room: Room,
        role: Role,
        name: str,
        *,
        send: Send,
        close: Close,
        chats: ChatStore,
        hub: CallHub,
        now: Callable[[], datetime],
        messages_per_second: int = 50,
    ) -> None:
        self.room = room
        self.role = role
        self.name = name
        self.participant: Participant | None = None
        self._send = send
        self._close = close
        self._chats = chats
        self._hub = hub
        self._now = now
        self._rate = float(messages_per_second)
        self._tokens = 2.0 * messages_per_second
        self._last_refill = time.monotonic()
        self._flooded = 0
        self._last_flood_error = 0.0
        self._closed = False
        self._negotiating = False

    async def open(self) -> None:
        self._hub.add(self)
        self.room.listeners.append(self.on_room_event)
        await self.send_state()

    async def handle_text(self, text: str) -> None:
        if self._closed:
            return
        if not self._take_token():
            await self._flood()
            return
        try:
            message = parse_message(text)
            await self._handle(message)
        except ProtocolError as exc:
            await self.error(exc.code, exc.message)
        except Exception:
            log.exception("room %s (%s): message failed", self.room.room_id, self.role)
            await self.error("internal", "the server could not handle that message")

    async def _handle(self, message: ClientMessage) -> None:
        if isinstance(message, Offer):
            self._negotiating = True  # a second offer replaces our own participant: not us
            try:
                participant, answer = await self.room.join(self.role, message.sdp)
            except SdpError as exc:
                raise ProtocolError("bad_offer", str(exc)) from None
            except MediaUnavailable:
                raise ProtocolError(
                    "server_busy", "the server has no media port free; try again shortly"
                ) from None
            except RoomClosed:
                await self._end(self.room.ended or "time_up")
                return
            finally:
                self._negotiating = False
            self.participant = participant
            await self._send({"type": "answer", "sdp": answer})
            await self.send_state()
        elif isinstance(message, Candidate):
            if self.participant is None:
                raise ProtocolError("no_offer", "send the offer before candidates")
            try:
                await self.participant.add_candidate(
                    message.candidate, message.sdp_mid, message.sdp_mline_index
                )
            except SdpError as exc:
                raise ProtocolError("bad_candidate", str(exc)) from None
        elif isinstance(message, Chat):
            at = self._now()
            await self._chats.save_chat(self.room.room_id, self.role, message.text, at)
            line = {
                "type": "chat",
                "from": self.role,
                "name": self.name,
                "text": message.text,
                "at": _iso(at),
            }
            await self._hub.broadcast(self.room.room_id, line)
        elif isinstance(message, VideoSource):
            if self.participant is None:
                raise ProtocolError("no_offer", "send the offer before switching video")
            # The other side's decoder needs a keyframe of the new picture at once.
            self.participant.request_keyframe()
            switched = {
                "type": "video_source",
                "role": self.role,
                "name": self.name,
                "source": message.source,
            }
            await self._hub.broadcast(self.room.room_id, switched)
        elif isinstance(message, RecordConsent | RecordStop):
            try:
                if isinstance(message, RecordConsent):
                    await self.room.consent_to_recording(self.role)
                else:
                    await self.room.stop_recording(self.role)
            except RecordingNotOffered:
                raise ProtocolError(
                    "not_offered", "recording is not offered for this call"
                ) from None
        else:
            if self.participant is not None:
                await self.room.leave(self.participant)
                self.participant = None
            await self.shutdown(1000, "left")

    async def send_state(self) -> None:
        ends_at = self.room.ends_at
        await self._send(
            {
                "type": "state",
                "peer": self.room.peer_state(self.role),
                "peer_gone": self.room.peer_gone(self.role),
                "ends_at": _iso(ends_at) if ends_at else None,
                "remaining_ms": self.room.timer.remaining_ms() if self.room.timer else None,
                "recording": self.room.recording_status(),
            }
        )

    async def on_room_event(self, event: RoomEvent) -> None:
        if self._closed:
            return
        if isinstance(event, CallWarning):
            await self._send({"type": "warning", "remaining_ms": event.remaining_ms})
        elif isinstance(event, CallEnded):
            await self._end(event.reason)
        elif isinstance(event, VideoPaused):
            await self._send({"type": "video_paused", "role": event.role, "reason": event.reason})
        elif isinstance(event, VideoResumed):
            await self._send({"type": "video_resumed", "role": event.role})
        elif isinstance(event, ParticipantLeft) and event.role == self.role:
            if (
                event.reason == "replaced"
                and self.participant is not None
                and not self._negotiating  # our own second offer replaced our participant
            ):
                await self.shutdown(4000, "replaced by a newer connection")
        elif isinstance(
            event, ParticipantJoined | ParticipantLeft | CallStarted | RecordingChanged
        ):
            await self.send_state()

    async def _end(self, reason: str) -> None:
        await self._send({"type": "ended", "reason": reason})
        await self.shutdown(1000, "call ended")

    async def error(self, code: str, message: str) -> None:
        await self._send({"type": "error", "code": code, "message": message})

    async def shutdown(self, code: int, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        await self._close(code, reason)

    async def gone(self) -> None:
        """The socket closed. An unannounced drop keeps the call going: they may come back."""
        self._closed = True
        self._hub.remove(self)
        if self.on_room_event in self.room.listeners:
            self.room.listeners.remove(self.on_room_event)
        if self.participant is not None:
            await self.room.drop(self.participant)

    def _take_token(self) -> bool:
        now = time.monotonic()
        self._tokens = min(2 * self._rate, self._tokens + (now - self._last_refill) * self._rate)
        self._last_refill = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    async def _flood(self) -> None:
        self._flooded += 1
        if self._flooded > FLOOD_LIMIT:
            await self.error("rate_limited", "too many messages; closing")
            await self.shutdown(POLICY_VIOLATION, "too many messages")
            return
        now = time.monotonic()
        if now - self._last_flood_error >= 1.0:
            self._last_flood_error = now
            await self.error("rate_limited", "too many messages; some were dropped")


class CallHub:
    """The open call sockets by room, for what goes to both sides (chat)."""

    def __init__(self) -> None:
        self._rooms: dict[str, set[CallConnection]] = {}

    def add(self, connection: CallConnection) -> None:
        self._rooms.setdefault(connection.room.room_id, set()).add(connection)

    def remove(self, connection: CallConnection) -> None:
        connections = self._rooms.get(connection.room.room_id)
        if connections is not None:
            connections.discard(connection)
            if not connections:
                del self._rooms[connection.room.room_id]

    async def broadcast(self, room_id: str, message: dict[str, Any]) -> None:
        for connection in list(self._rooms.get(room_id, ())):
            if not connection._closed:
                await connection._send(message)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
