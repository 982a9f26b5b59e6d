"""The pages that belong to no domain: the landing page, error pages and web/static assets."""

from __future__ import annotations

from aiohttp import web

import web as web_assets
from server.http.routes import RouteTable
from server.http.templating import TEMPLATES

routes = RouteTable("pages")

ERROR_TITLES = {
    400: "That did not work",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    413: "Too large",
    429: "Slow down",
}


@routes.page("/", "The landing page")
async def landing(request: web.Request) -> web.Response:
    return await request.app[TEMPLATES].render(request, "landing.html", {})


async def error_page(request: web.Request, status: int, code: str, message: str) -> web.Response:
    title = ERROR_TITLES.get(status, "Something went wrong" if status >= 500 else "Error")
    context = {"status": status, "title": title, "message": message}
    return await request.app[TEMPLATES].render(request, "error.html", context, status)


@routes.get(
    "/static/{name}",
    "A stylesheet, script or image of web/",
    kind="text",
    media_type="*/*",
    errors=(404,),
)
async def static_asset(request: web.Request) -> web.StreamResponse:
    """A file of web/static by name; only files that exist at start-up are served."""
    name = request.match_info["name"]
    templates = request.app[TEMPLATES]
    if name not in templates.asset_versions:
        raise web.HTTPNotFound()
    # A versioned URL (?v=hash) never changes content, so browsers may keep it for a year.
    cache = "public, max-age=31536000, immutable" if "v" in request.query else "no-cache"
    return web.FileResponse(web_assets.STATIC / name, headers={"Cache-Control": cache})
