"""The live socket of the logged-in pages (docs/api.md, "The live socket"): messages, typing
indicators and read receipts of the user's conversations both ways, and the unread counts the
menu shows, pushed as they change. The REST calls remain the fallback."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from server.conversations.service import CONVERSATIONS, Conversations
from server.conversations.shapes import message_json
from server.db.models import Booking, User
from server.http.errors import ApiError
from server.http.routes import RouteTable
from server.http.security import require_user, same_origin
from server.live import LIVE

routes = RouteTable("conversations")
MAX_FRAME_BYTES = 64 * 1024
TYPING_EVERY_SECONDS = 2.0
# A socket may send this many frames a second on average, in bursts of up to BURST.
FRAMES_PER_SECOND = 10
BURST = 30


class LiveSession:
    """One open socket: what its user sends, checked and carried out."""

    def __init__(
        self,
        conversations: Conversations,
        user: User,
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        self.conversations = conversations
        self.user = user
        self.send = send
        self._bookings: dict[int, Booking] = {}
        self._typed: dict[int, float] = {}
        self._tokens = float(BURST)
        self._refilled = time.monotonic()

    async def handle(self, data: str) -> None:
        ref: Any = None
        try:
            message = json.loads(data)
            if not isinstance(message, dict):
                raise ApiError(400, "bad_message", "send a JSON object with a type")
            ref = message.get("ref")
            if ref is not None and (not isinstance(ref, str) or len(ref) > 64):
                ref = None
                raise ApiError(400, "invalid_field", "must be at most 64 characters", "ref")
            if not self._allowed():
                raise ApiError(429, "too_fast", f"at most {FRAMES_PER_SECOND} frames a second")
            await self._dispatch(message, ref)
        except ApiError as exc:
            await self.send(_error(ref, exc))
        except (ValueError, RecursionError):  # not JSON, too deep, numbers too long
            await self.send(_error(ref, ApiError(400, "bad_message", "send JSON text frames")))

    def _allowed(self) -> bool:
        now = time.monotonic()
        self._tokens = min(BURST, self._tokens + (now - self._refilled) * FRAMES_PER_SECOND)
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    async def _dispatch(self, message: dict[str, Any], ref: str | None) -> None:
        kind = message.get("type")
        if kind == "ping":
            await self.send({"type": "pong", "ref": ref})
            return
        if kind not in ("send", "typing", "read"):
            raise ApiError(400, "bad_message", "type must be send, typing, read or ping", "type")
        booking = await self._booking(message.get("booking_id"))
        if kind == "send":
            text = message.get("text")
            if not isinstance(text, str):
                raise ApiError(400, "invalid_field", "must be a string", "text")
            posted = await self.conversations.send(self.user, booking, text)
            await self.send({"type": "sent", "ref": ref, "message": message_json(posted, booking)})
        elif kind == "typing":
            now = time.monotonic()
            if now - self._typed.get(booking.id, 0.0) >= TYPING_EVERY_SECONDS:
                self._typed[booking.id] = now
                event = {"type": "typing", "booking_id": booking.id, "name": self.user.name}
                await self.conversations.live.publish([booking.other_than(self.user.id)], event)
        else:
            await self.conversations.mark_read(self.user, booking)

    async def _booking(self, value: Any) -> Booking:
        if type(value) is not int:
            raise ApiError(400, "invalid_field", "must be a booking id", "booking_id")
        booking = self._bookings.get(value)
        if booking is None:
            if not 0 < value < 2**63:
                raise ApiError(404, "not_found", "no such conversation")
            booking = await self.conversations.visible(self.user, value)
            self._bookings[value] = booking
        return booking


def _error(ref: Any, exc: ApiError) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "error", "ref": ref, "code": exc.code, "message": exc.message}
    if exc.field:
        error["field"] = exc.field
    retry = exc.headers.get("Retry-After") if exc.headers else None
    if retry:
        error["retry_after"] = int(retry)
    return error


@routes.get(
    "/ws/live",
    "The live socket of the logged-in pages (docs/api.md, 'The live socket')",
    kind="websocket",
    errors=(401, 403),
    login=True,
)
async def live_socket(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        raise ApiError(403, "bad_origin", "this socket only accepts this site's pages")
    user = require_user(request)
    hub = request.app[LIVE]
    ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES, heartbeat=25)
    await ws.prepare(request)

    async def send(event: dict[str, Any]) -> None:
        if not ws.closed:
            with contextlib.suppress(ConnectionResetError):  # closing as we answer
                await ws.send_json(event)

    session = LiveSession(request.app[CONVERSATIONS], user, send)
    hub.connect(user.id, send, lambda: ws.close(code=1001, message=b"server stopping"))
    try:
        await send({"type": "hello", "user_id": user.id, "unread": await hub.greeting(user.id)})
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                await session.handle(frame.data)
            elif frame.type == WSMsgType.BINARY:
                await send(_error(None, ApiError(400, "bad_message", "send JSON text frames")))
            elif frame.type == WSMsgType.ERROR:
                break
    finally:
        hub.disconnect(user.id, send)
    return ws
