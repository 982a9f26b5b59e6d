"""The conversations API (PRD 9.4): the list, a conversation's messages, sending, reading."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from server.conversations.service import CONVERSATIONS, NewMessage, Summary
from server.db.models import Booking, ChatLine
from server.http.formats import iso
from server.http.requests import path_id, query_of, read_body
from server.http.routes import QueryParam, RouteTable
from server.http.security import require_user

routes = RouteTable("conversations")
C = r"{booking_id:\d+}"


@dataclass(frozen=True)
class HistoryQuery:
    before: int | None = field(default=None, metadata={"minimum": 1})
    limit: int = field(default=50, metadata={"minimum": 1, "maximum": 100})


def message_json(line: ChatLine, booking: Booking) -> dict[str, Any]:
    return {
        "id": line.id,
        "booking_id": line.booking_id,
        "sender_id": line.sender_id,
        "from": "mentor" if line.sender_id == booking.mentor_id else "mentee",
        "text": line.text,
        "at": iso(line.at),
    }


def summary_json(item: Summary) -> dict[str, Any]:
    return {
        "booking_id": item.booking.id,
        "topic": item.booking.topic,
        "starts_at": iso(item.booking.starts_at),
        "other": {"id": item.other.id, "name": item.other.name},
        "last_message": message_json(item.last, item.booking) if item.last else None,
        "unread": item.unread,
    }


@routes.get("/api/conversations", "Your conversations, the most recent first", login=True)
async def list_conversations(request: web.Request) -> web.Response:
    user = require_user(request)
    items = await request.app[CONVERSATIONS].of_user(user)
    return web.json_response(
        {
            "items": [summary_json(i) for i in items],
            "total": len(items),
            "unread": sum(i.unread for i in items),
        }
    )


@routes.get(
    f"/api/conversations/{C}/messages",
    "A conversation's messages, oldest first; `before` pages back",
    login=True,
    query=(
        QueryParam("before", "only messages older than this id", "integer"),
        QueryParam("limit", "at most this many, up to 100", "integer"),
    ),
)
async def list_messages(request: web.Request) -> web.Response:
    user = require_user(request)
    query: HistoryQuery = query_of(request, HistoryQuery)
    conversations = request.app[CONVERSATIONS]
    booking = await conversations.visible(user, path_id(request, "booking_id"))
    lines, older = await conversations.messages(booking, before=query.before, limit=query.limit)
    return web.json_response(
        {
            "items": [message_json(line, booking) for line in lines],
            "has_more": older,
            "read_by_other": await conversations.read_by_other(booking, user),
        }
    )


@routes.post(
    f"/api/conversations/{C}/messages",
    "Send a message (at most 30 a minute)",
    body=NewMessage,
    status=201,
    errors=(429,),
    login=True,
)
async def send_message(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await read_body(request, NewMessage)
    conversations = request.app[CONVERSATIONS]
    booking = await conversations.visible(user, path_id(request, "booking_id"))
    line = await conversations.send(user, booking, body.text)
    return web.json_response({"message": message_json(line, booking)}, status=201)


@routes.put(
    f"/api/conversations/{C}/read",
    "Mark the conversation read (the other side sees it as seen)",
    status=204,
    login=True,
)
async def mark_read(request: web.Request) -> web.Response:
    user = require_user(request)
    booking_id = path_id(request, "booking_id")
    await request.app[CONVERSATIONS].visible(user, booking_id)
    await request.app[CONVERSATIONS].mark_read(user, booking_id)
    return web.Response(status=204)
