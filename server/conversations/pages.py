"""The conversations pages: the list, and one conversation with a form to write. They work
without JavaScript (text only); with it, web/static/live.js makes them live and adds files.
Messages are shown as safe Markdown (server/conversations/markdown.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from server.conversations.attachments import ALLOWED, KINDS
from server.conversations.markdown import render
from server.conversations.service import CONVERSATIONS, MAX_MESSAGE_CHARS
from server.conversations.shapes import Posted, attachment_url
from server.db.models import User
from server.http.errors import ApiError
from server.http.requests import path_id, query_of, read_form
from server.http.routes import QueryParam, RouteTable
from server.http.security import require_user
from server.http.templating import TEMPLATES

routes = RouteTable("pages")
C = r"{booking_id:\d+}"
SHOWN = 50
ACCEPT = ",".join(
    sorted(
        {k.content_type.split(";")[0] for k in KINDS.values()}
        | {f".{ext}" for k in KINDS.values() for ext in k.extensions}
    )
)


@dataclass(frozen=True)
class Older:
    before: int | None = field(default=None, metadata={"minimum": 1})


@routes.page("/conversations", "Your conversations", login=True)
async def conversations_page(request: web.Request) -> web.Response:
    user = require_user(request)
    items = await request.app[CONVERSATIONS].of_user(user)
    return await request.app[TEMPLATES].render(request, "conversations.html", {"items": items})


async def _conversation(
    request: web.Request, user: User, *, error: str = "", status: int = 200
) -> web.Response:
    conversations = request.app[CONVERSATIONS]
    booking = await conversations.visible(user, path_id(request, "booking_id"))
    before = query_of(request, Older).before if request.method == "GET" else None
    posted, older = await conversations.messages(booking, before=before, limit=SHOWN)
    if before is None:
        await conversations.mark_read(user, booking)
    context = {
        "booking": booking,
        "items": [
            (p, render(p.line.text), p.attachment and attachment_url(p.attachment)) for p in posted
        ],
        "older": posted[0].line.id if older and posted else None,
        "paged": before is not None,
        "me": user.id,
        "other": await conversations.other_of(booking, user),
        "read_by_other": await conversations.read_by_other(booking, user),
        "error": error,
        "max_chars": MAX_MESSAGE_CHARS,
        "accept": ACCEPT,
        "allowed": ALLOWED,
    }
    return await request.app[TEMPLATES].render(request, "conversation.html", context, status)


def _file_url(posted: Posted) -> str | None:
    return attachment_url(posted.attachment) if posted.attachment else None


@routes.page(
    f"/conversations/{C}",
    "A conversation with the other side of a booking",
    login=True,
    query=(QueryParam("before", "show the messages older than this id", "integer"),),
)
async def conversation_page(request: web.Request) -> web.Response:
    return await _conversation(request, require_user(request))


@routes.post(
    f"/conversations/{C}",
    "Send a message from the conversation page",
    kind="redirect",
    errors=(400, 403, 404, 429),
    login=True,
)
async def conversation_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    form = await read_form(request)
    text = form.get("text")
    conversations = request.app[CONVERSATIONS]
    booking = await conversations.visible(user, path_id(request, "booking_id"))
    try:
        await conversations.send(user, booking, text if isinstance(text, str) else "")
    except ApiError as exc:
        return await _conversation(request, user, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/conversations/{booking.id}#latest")
