"""The notifications API: the in-app list, marking read, and which mails a user gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from server.db.models import Notification
from server.http.errors import ApiError
from server.http.formats import iso
from server.http.requests import path_id, query_of, read_body
from server.http.routes import PAGE, RouteTable
from server.http.security import require_user
from server.notifications.messages import KINDS
from server.notifications.service import NOTIFICATIONS

routes = RouteTable("notifications")


@dataclass(frozen=True)
class ListQuery:
    page: int = field(default=1, metadata={"minimum": 1})
    per_page: int = field(default=20, metadata={"minimum": 1, "maximum": 100})


@dataclass(frozen=True)
class Preferences:
    email_off: list[str] = field(
        metadata={"max_items": len(KINDS), "description": "kinds of mail turned off"}
    )


def notification_json(item: Notification) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "body": item.body,
        "link": item.link,
        "created_at": iso(item.created_at),
        "read_at": iso(item.read_at),
    }


@routes.get(
    "/api/notifications",
    "Your notifications, newest first, with the unread count",
    login=True,
    query=PAGE,
)
async def list_notifications(request: web.Request) -> web.Response:
    user = require_user(request)
    query: ListQuery = query_of(request, ListQuery)
    items, total, unread = await request.app[NOTIFICATIONS].of_user(
        user.id, query.page, query.per_page
    )
    return web.json_response(
        {"items": [notification_json(i) for i in items], "total": total, "unread": unread}
    )


@routes.put("/api/notifications/read-all", "Mark every notification read", status=204, login=True)
async def read_all(request: web.Request) -> web.Response:
    user = require_user(request)
    await request.app[NOTIFICATIONS].mark_read(user.id)
    return web.Response(status=204)


@routes.put(
    r"/api/notifications/{notification_id:\d+}/read",
    "Mark one notification read",
    status=204,
    login=True,
)
async def read_one(request: web.Request) -> web.Response:
    user = require_user(request)
    await request.app[NOTIFICATIONS].mark_read(user.id, path_id(request, "notification_id"))
    return web.Response(status=204)


async def preferences_json(request: web.Request, user_id: int) -> dict[str, Any]:
    off = await request.app[NOTIFICATIONS].email_off(user_id)
    return {
        "kinds": [
            {"kind": kind, "label": label, "email": kind not in off}
            for kind, label in KINDS.items()
        ]
    }


@routes.get("/api/notifications/preferences", "Which kinds of mail you get", login=True)
async def get_preferences(request: web.Request) -> web.Response:
    user = require_user(request)
    return web.json_response(await preferences_json(request, user.id))


@routes.put(
    "/api/notifications/preferences",
    "Turn kinds of mail off (the in-app list keeps everything)",
    body=Preferences,
    login=True,
)
async def put_preferences(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await read_body(request, Preferences)
    unknown = sorted(set(body.email_off) - set(KINDS))
    if unknown:
        raise ApiError(400, "invalid_field", f"unknown kind {unknown[0][:40]!r}", "email_off")
    await request.app[NOTIFICATIONS].set_email_off(user.id, set(body.email_off))
    return web.json_response(await preferences_json(request, user.id))
