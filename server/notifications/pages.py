"""The notifications page, the unsubscribe page a mail links to, and the administrators'
outbox (where mail waits when no SMTP server is configured)."""

from __future__ import annotations

from aiohttp import web

from server.http.errors import ApiError
from server.http.requests import read_form
from server.http.routes import QueryParam, RouteTable
from server.http.security import require_admin, require_user
from server.http.templating import TEMPLATES
from server.notifications.messages import KINDS
from server.notifications.service import NOTIFICATIONS

routes = RouteTable("pages")
UNSUBSCRIBE_QUERY = (
    QueryParam("user", "the account", "integer", required=True),
    QueryParam("kind", "the kind of mail", required=True),
    QueryParam("token", "the signature from the mail", required=True),
)


@routes.page("/notifications", "Your notifications", login=True)
async def notifications_page(request: web.Request) -> web.Response:
    user = require_user(request)
    service = request.app[NOTIFICATIONS]
    items, total, unread = await service.of_user(user.id, 1, 50)
    await service.mark_read(user.id)  # seen now
    context = {"items": items, "total": total, "unread": unread}
    return await request.app[TEMPLATES].render(request, "notifications.html", context)


async def _unsubscribe_target(request: web.Request, values: dict[str, str]) -> tuple[int, str]:
    try:
        user_id = int(values.get("user", ""))
    except ValueError:
        user_id = 0
    kind = values.get("kind", "")
    if not 0 < user_id < 2**63 or not request.app[NOTIFICATIONS].token_matches(
        user_id, kind, values.get("token", "")
    ):
        raise ApiError(404, "not_found", "This unsubscribe link does not work.")
    return user_id, kind


@routes.page(
    "/unsubscribe",
    "Stop one kind of mail (the link in every mail)",
    errors=(404,),
    query=UNSUBSCRIBE_QUERY,
)
async def unsubscribe_page(request: web.Request) -> web.Response:
    values = dict(request.query)
    _user_id, kind = await _unsubscribe_target(request, values)
    context = {"kind": kind, "label": KINDS[kind], "values": values, "done": False}
    return await request.app[TEMPLATES].render(request, "unsubscribe.html", context)


@routes.post(
    "/unsubscribe",
    "Stop one kind of mail (one click: RFC 8058 List-Unsubscribe-Post)",
    kind="html",
    errors=(400, 404),
    csrf=False,  # the signed token is the proof, and a mail client posts without a session
    query=UNSUBSCRIBE_QUERY,
)
async def unsubscribe_submit(request: web.Request) -> web.Response:
    form = await read_form(request)
    values = {**request.query, **{k: v for k, v in form.items() if isinstance(v, str)}}
    user_id, kind = await _unsubscribe_target(request, values)
    service = request.app[NOTIFICATIONS]
    await service.set_email_off(user_id, await service.email_off(user_id) | {kind})
    context = {"kind": kind, "label": KINDS[kind], "values": values, "done": True}
    return await request.app[TEMPLATES].render(request, "unsubscribe.html", context)


@routes.page(
    "/admin/outbox", "Mail waiting, sent and failed (administrators)", errors=(403,), login=True
)
async def outbox_page(request: web.Request) -> web.Response:
    require_admin(request)
    mails = await request.app[NOTIFICATIONS].outbox()
    configured = request.app[NOTIFICATIONS].send is not None
    context = {"mails": mails, "configured": configured}
    return await request.app[TEMPLATES].render(request, "admin_outbox.html", context)
