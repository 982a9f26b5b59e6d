"""The discovery forms, which work without JavaScript: the favourite button on mentor cards and
pages (web/static/favourites.js sends it through the API instead, keeping the focus where it
is), and the mentee's interests, on the dashboard and on a page of their own. The mentor list,
the mentor page and the dashboard themselves are server/booking's; they show this package's
parts through web/templates/_discovery.html."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from server.discovery.service import DISCOVERY
from server.discovery.shapes import MAX_INTERESTS, MAX_INTERESTS_TEXT, split_interests
from server.http.errors import ApiError
from server.http.requests import path_id, read_form
from server.http.routes import RouteTable
from server.http.security import require_user
from server.http.templating import TEMPLATES

routes = RouteTable("pages")


def back_to(request: web.Request, mentor_id: int) -> str:
    """Where the favourite form came from (the list, with its filters, or the mentor's page),
    read from the Referer when it is this site's; else the mentor's page. The fragment is the
    form itself, so the page opens where the button is."""
    fallback = f"/mentors/{mentor_id}"
    parts = urlsplit(request.headers.get("Referer", ""))
    path = parts.path
    same_site = parts.netloc == request.host and parts.scheme in ("http", "https")
    plain = path.startswith("/") and not path.startswith("//") and "\\" not in path
    if not (same_site and plain):
        path, query = fallback, ""
    else:
        query = f"?{parts.query}" if parts.query else ""
    return f"{path}{query}#favourite-{mentor_id}"


@routes.post(
    r"/mentors/{mentor_id:\d+}/favourite",
    "The favourite button: `favourite=1` adds the mentor, `favourite=0` takes them out; 303 back",
    kind="redirect",
    errors=(400, 404, 409),
    login=True,
)
async def favourite_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    mentor_id = path_id(request, "mentor_id")
    wanted = (await read_form(request)).get("favourite")
    discovery = request.app[DISCOVERY]
    if wanted == "1":
        await discovery.favourite(user, mentor_id)
    elif wanted == "0":
        await discovery.unfavourite(user, mentor_id)
    else:
        raise ApiError(400, "invalid_field", "must be 1 (add) or 0 (take out)", "favourite")
    raise web.HTTPSeeOther(back_to(request, mentor_id))


async def _interests_page(
    request: web.Request, value: str, error: str = "", status: int = 200
) -> web.Response:
    context = {
        "value": value,
        "error": error,
        "max_interests": MAX_INTERESTS,
        "max_text": MAX_INTERESTS_TEXT,
    }
    return await request.app[TEMPLATES].render(request, "interests.html", context, status)


@routes.page("/interests", "Your interests, which choose your Mentors for you", login=True)
async def interests_page(request: web.Request) -> web.Response:
    user = require_user(request)
    tags = await request.app[DISCOVERY].interests(user.id)
    return await _interests_page(request, ", ".join(tags))


@routes.post(
    "/interests",
    "Save your interests (`interests`: comma-separated); 303 to the dashboard's Mentors for you",
    kind="redirect",
    errors=(400,),
    login=True,
)
async def interests_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    sent = (await read_form(request)).get("interests")
    text = sent if isinstance(sent, str) else ""
    if len(text) > MAX_INTERESTS_TEXT:
        message = f"Write at most {MAX_INTERESTS_TEXT:,} characters."
        return await _interests_page(request, text[:MAX_INTERESTS_TEXT], message, 400)
    try:
        await request.app[DISCOVERY].set_interests(user, split_interests(text))
    except ApiError as exc:
        message = exc.message[:1].upper() + exc.message[1:] + "."
        return await _interests_page(request, text, message, 400)
    raise web.HTTPSeeOther("/dashboard?interests=saved#for-you")
