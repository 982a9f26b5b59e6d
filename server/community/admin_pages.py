"""The console's moderation page for the community: reported posts, questions and replies, each
hidden or kept with a note (closing its reports, written to the audit log)."""

from __future__ import annotations

from aiohttp import web

from server.community.service import COMMUNITIES
from server.community.shapes import Moderation
from server.http.errors import ApiError
from server.http.requests import path_id, read_form
from server.http.routes import QueryParam, RouteTable
from server.http.schema import BodyError, parse
from server.http.security import require_admin
from server.http.templating import TEMPLATES

routes = RouteTable("pages")
P = r"{post_id:\d+}"
R = r"{reply_id:\d+}"
DONE = {
    "hide": "Hidden: it left every feed and page.",
    "keep": "It stays; its reports are closed.",
}


@routes.page(
    "/admin/community",
    "Reported posts, questions and replies to hide or keep (administrators)",
    errors=(403,),
    login=True,
    query=(QueryParam("done", "`hide` or `keep`: a decision was just made, say so"),),
)
async def admin_community_page(request: web.Request) -> web.Response:
    require_admin(request)
    cases, total = await request.app[COMMUNITIES].reported(1, 100)
    context = {
        "cases": cases,
        "total": total,
        "done": DONE.get(request.query.get("done", ""), ""),
    }
    return await request.app[TEMPLATES].render(request, "admin_community.html", context)


async def _decide(request: web.Request, kind: str, name: str) -> web.StreamResponse:
    admin = require_admin(request)
    form = await read_form(request)
    values = {
        key: value.replace("\r\n", "\n") if isinstance(value, str) else ""
        for key in ("decision", "note")
        for value in [form.get(key)]
    }
    try:
        body = parse(Moderation, values)
    except BodyError as exc:
        raise ApiError(400, "invalid_field", f"The {exc.field} {exc.message}.", exc.field) from None
    await request.app[COMMUNITIES].moderate(
        admin, kind, path_id(request, name), body.decision == "hide", body.note
    )
    raise web.HTTPSeeOther(f"/admin/community?done={body.decision}")


@routes.post(
    f"/admin/community/posts/{P}/moderate",
    "Hide or keep a reported post or question, with a note (administrators)",
    kind="redirect",
    errors=(400, 403, 404),
    login=True,
)
async def moderate_post_submit(request: web.Request) -> web.StreamResponse:
    return await _decide(request, "post", "post_id")


@routes.post(
    f"/admin/community/replies/{R}/moderate",
    "Hide or keep a reported reply, with a note (administrators)",
    kind="redirect",
    errors=(400, 403, 404),
    login=True,
)
async def moderate_reply_submit(request: web.Request) -> web.StreamResponse:
    return await _decide(request, "reply", "reply_id")
