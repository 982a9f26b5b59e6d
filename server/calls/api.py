"""The call's API: the join endpoint and the call WebSocket."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, web

from server.calls.service import CALLS, CallUnavailable
from server.cluster.nodes import CLUSTER
from server.config import CONFIG
from server.db.models import Booking
from server.http.errors import ApiError
from server.http.formats import iso
from server.http.requests import path_id
from server.http.routes import QueryParam, RouteTable
from server.http.security import require_user, same_origin
from signaling.connection import CallConnection, CallHub, ChatStore
from signaling.token import JoinClaims, TokenError, sign, verify
from turn.credentials import ephemeral, turn_urls

log = logging.getLogger("micromentor.calls")
routes = RouteTable("calls")
CALL_HUB = web.AppKey("call_hub", CallHub)
JOIN_KEY = web.AppKey("join_key", bytes)
TURN_SECRET = web.AppKey("turn_secret", str)
CHATS = web.AppKey("chats", ChatStore)  # where lines typed in the call are kept
TURN_MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class IceServer:
    urls: list[str]
    username: str = ""
    credential: str = ""


@dataclass(frozen=True)
class JoinInfo:
    booking_id: int
    role: str
    node: str  # the node holding the call; ws_url reaches it
    ws_url: str
    token: str
    ice_servers: list[IceServer]
    starts_at: str
    ends_at: str
    duration_seconds: int
    warning_seconds: int


def base_url(request: web.Request) -> str:
    """The public URL when configured, else the one this request came in on."""
    configured = request.app[CONFIG].server.public_url
    return configured.rstrip("/") if configured else f"{request.scheme}://{request.host}"


async def booking_or_404(request: web.Request) -> Booking:
    booking = await request.app[CALLS].booking(path_id(request, "booking_id"))
    if booking is None:
        raise ApiError(404, "not_found", "no such booking")
    return booking


@routes.get(
    "/api/bookings/{booking_id}/join",
    "Join details of a call: the WebSocket URL with a short-lived token, ICE servers, times",
    response=JoinInfo,
    errors=(401, 403, 404, 409, 503),
    login=True,
)
async def join_info(request: web.Request) -> web.Response:
    user = require_user(request)
    booking = await booking_or_404(request)
    calls = request.app[CALLS]
    if booking.role_of(user.id) is None and not user.is_admin:
        raise ApiError(404, "not_found", "no such booking")  # do not confirm it exists
    try:
        role = calls.check_joinable(booking, user.id)
    except CallUnavailable as exc:
        raise unavailable(exc) from None
    config = request.app[CONFIG]
    expires = request.app[CALLS].clock() + timedelta(seconds=config.signaling.token_seconds)
    token = sign(
        request.app[JOIN_KEY], JoinClaims(booking.id, user.id, role, int(expires.timestamp()))
    )
    # The node holding this call (this one, unless several share the database).
    placed = await request.app[CLUSTER].place(booking.id)
    ws_base = (base_url(request) if placed.here else placed.url).replace("http", "ws", 1)
    info = {
        "booking_id": booking.id,
        "role": role,
        "node": placed.node,
        "ws_url": f"{ws_base}/ws/call/{booking.id}?token={token}&node={quote(placed.node)}",
        "token": token,
        "ice_servers": ice_servers_for(request, user.id, calls.projected_end(booking)),
        "starts_at": iso(booking.starts_at),
        "ends_at": iso(calls.projected_end(booking)),
        "duration_seconds": config.calls.duration_seconds,
        "warning_seconds": config.calls.warning_seconds,
    }
    return web.json_response(info)


def unavailable(exc: CallUnavailable) -> ApiError:
    """403 for an outsider, 503 (Retry-After) while the server restarts, else 409."""
    if exc.code == "not_a_participant":
        return ApiError(403, exc.code, exc.message)
    if exc.code == "server_restarting":
        return ApiError(503, exc.code, exc.message, headers={"Retry-After": "2"})
    return ApiError(409, exc.code, exc.message)


def ice_servers_for(request: web.Request, user_id: int, call_end: datetime) -> list[dict[str, Any]]:
    """TURN with ephemeral credentials valid for the call plus a margin ([turn] enabled)."""
    settings = request.app[CONFIG].turn
    if not settings.enabled:
        return []
    now = request.app[CALLS].clock()
    expires = max(now + timedelta(seconds=settings.ttl_seconds), call_end + TURN_MARGIN)
    credential = ephemeral(request.app[TURN_SECRET], user_id, int(expires.timestamp()))
    return [
        {
            "urls": turn_urls(settings.host, settings.port, settings.tls_port),
            "username": credential.username,
            "credential": credential.password,
        }
    ]


@routes.get(
    "/ws/call/{booking_id}",
    "The call WebSocket (docs/api.md, 'The call WebSocket')",
    kind="websocket",
    errors=(401, 403, 404, 409, 503),
    login=True,
    query=(
        QueryParam("token", "The token from the join endpoint", required=True),
        QueryParam("node", "The node holding the call, for a front that routes by it"),
    ),
)
async def call_socket(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        raise ApiError(403, "bad_origin", "this call socket only accepts this site's pages")
    user = require_user(request)
    booking = await booking_or_404(request)
    calls = request.app[CALLS]
    try:
        claims = verify(
            request.app[JOIN_KEY],
            request.query.get("token", ""),
            booking_id=booking.id,
            now=calls.clock(),
        )
    except TokenError as exc:
        raise ApiError(403, "bad_token", str(exc)) from None
    if claims.user_id != user.id:
        raise ApiError(403, "bad_token", "the token belongs to another user")
    try:
        role = calls.check_joinable(booking, user.id)
    except CallUnavailable as exc:
        raise unavailable(exc) from None

    placed = await request.app[CLUSTER].place(booking.id)
    if not placed.here:
        raise ApiError(
            409, "wrong_node", f"this call is on node {placed.node}: ask for the join details again"
        )

    config = request.app[CONFIG]
    ws = web.WebSocketResponse(max_msg_size=config.signaling.max_message_bytes, heartbeat=20)
    await ws.prepare(request)

    async def send(message: dict[str, Any]) -> None:
        if not ws.closed:
            await ws.send_json(message)

    async def close(code: int, reason: str) -> None:
        await ws.close(code=code, message=reason.encode())

    room = calls.room_for(booking, record=await calls.recording_offered(booking))
    connection = CallConnection(
        room,
        role,
        user.name,
        send=send,
        close=close,
        chats=request.app[CHATS],
        hub=request.app[CALL_HUB],
        now=calls.clock,
        messages_per_second=config.signaling.messages_per_second,
    )
    try:
        await connection.open()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await connection.handle_text(message.data)
            elif message.type == WSMsgType.BINARY:
                await connection.error("bad_message", "send JSON text frames")
            elif message.type == WSMsgType.ERROR:
                break
    finally:
        await connection.gone()
    return ws
