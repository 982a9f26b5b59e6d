"""The conversations pages: the list, and one conversation with a form to write. They work
without JavaScript; messages are shown as text, never as HTML."""

from __future__ import annotations

from aiohttp import web

from server.conversations.service import CONVERSATIONS, MAX_MESSAGE_CHARS
from server.db.models import User
from server.http.errors import ApiError
from server.http.requests import path_id, read_form
from server.http.routes import RouteTable
from server.http.security import require_user
from server.http.templating import TEMPLATES

routes = RouteTable("pages")
C = r"{booking_id:\d+}"


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
    lines, older = await conversations.messages(booking, before=None, limit=100)
    await conversations.mark_read(user, booking.id)
    context = {
        "booking": booking,
        "lines": lines,
        "older": older,
        "me": user.id,
        "other": await conversations.other_of(booking, user),
        "read_by_other": await conversations.read_by_other(booking, user),
        "error": error,
        "max_chars": MAX_MESSAGE_CHARS,
    }
    return await request.app[TEMPLATES].render(request, "conversation.html", context, status)


@routes.page(f"/conversations/{C}", "A conversation with the other side of a booking", login=True)
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
