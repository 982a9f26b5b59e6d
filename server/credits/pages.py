"""The credits pages: the mailed confirmation link, the account page's campus address and
free calls (a template hook), and the console's sponsors (administrators)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from server.credits.service import CREDITS
from server.http.errors import ApiError
from server.http.requests import path_id
from server.http.routes import QueryParam, RouteTable
from server.http.security import current_user, require_admin
from server.http.templating import TEMPLATES

routes = RouteTable("pages")
S = r"{sponsor_id:\d+}"
# The pages that show a user's free calls: the account, the dashboard and a mentor's page.
SHOWN_ON = re.compile(r"^/(account|dashboard|mentors/\d+)$")
DONE = {
    "created": "The sponsor is set up. Record its first top-up on its page.",
    "saved": "The rule is saved; students see it the next time they book.",
    "topped_up": "The top-up is recorded: the wallet pays calls from now on.",
}
DONE_QUERY = (QueryParam("done", "an action just done: say so"),)


async def credits_of_viewer(request: web.Request) -> dict[str, Any]:
    """A template hook: `credits`, the viewer's standing, on the pages that show it."""
    user = current_user(request)
    credits = request.app[CREDITS]
    if user is None or not credits.enabled or not SHOWN_ON.match(request.path):
        return {}
    return {"credits": await credits.standing(user), "campus_domains": credits.campus_domains}


@routes.page(
    "/campus/confirm",
    "The mailed link that confirms a campus email address",
    errors=(404, 409),
    query=(QueryParam("token", "the link's token"),),
)
async def confirm_page(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    templates = request.app[TEMPLATES]
    try:
        if not 0 < len(token) <= 100:
            raise ApiError(
                404, "link_expired", "this link is not valid any more; ask for a new one"
            )
        row = await request.app[CREDITS].confirm(token)
    except ApiError as exc:
        context = {"email": None, "problem": exc.message}
        return await templates.render(request, "campus_confirm.html", context, exc.status)
    return await templates.render(
        request, "campus_confirm.html", {"email": row.email, "problem": ""}
    )


@routes.page(
    "/admin/sponsors",
    "Sponsors: institutions paying their students' free calls; set one up",
    errors=(403,),
    login=True,
    query=DONE_QUERY,
)
async def sponsors_page(request: web.Request) -> web.Response:
    require_admin(request)
    credits = request.app[CREDITS]
    context = {
        "done": DONE.get(request.query.get("done", ""), ""),
        "sponsors": await credits.sponsors(),
        "campus_domains": credits.campus_domains,
        "default_free_calls": credits.settings.free_calls_per_week,
    }
    return await request.app[TEMPLATES].render(request, "admin_sponsors.html", context)


@routes.page(
    f"/admin/sponsors/{S}",
    "One sponsor: its wallet, top-ups and calls covered; change its rule, record a top-up",
    errors=(403, 404),
    login=True,
    query=DONE_QUERY,
)
async def sponsor_page(request: web.Request) -> web.Response:
    require_admin(request)
    credits = request.app[CREDITS]
    context = {
        "done": DONE.get(request.query.get("done", ""), ""),
        "sponsor": await credits.sponsor(path_id(request, "sponsor_id")),
        "campus_domains": credits.campus_domains,
    }
    return await request.app[TEMPLATES].render(request, "admin_sponsor.html", context)
