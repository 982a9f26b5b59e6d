"""Renders the jinja2 templates of web/ with what every page needs (user, CSRF token, assets)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2
from aiohttp import web
from aiohttp_session import get_session

import web as web_assets
from server.http.errors import REQUEST_ID
from server.http.formats import rupees
from server.http.security import csrf_token, current_user


def iso_utc(at: datetime | None) -> str:
    """A time as ISO 8601 UTC with Z, for <time datetime> and scripts."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else ""


ContextHook = Callable[[web.Request], Awaitable[dict[str, Any]]]


class Templates:
    def __init__(self) -> None:
        # What domains add to every page (the notifications badge); app.py registers them.
        self.hooks: list[ContextHook] = []
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(web_assets.TEMPLATES),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
        )
        # A content hash in each asset URL lets browsers cache assets until they change.
        self.asset_versions = {
            path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            for path in web_assets.STATIC.iterdir()
            if path.is_file()
        }
        self.env.globals["static"] = self.static_url
        self.env.globals["timedelta"] = timedelta
        # Money on every page and in every macro (macros imported without context see globals).
        self.env.globals["rupees"] = rupees
        self.env.filters["iso"] = iso_utc

    def static_url(self, name: str) -> str:
        return f"/static/{name}?v={self.asset_versions.get(name, '0')}"

    async def render(
        self, request: web.Request, name: str, context: dict[str, Any], status: int = 200
    ) -> web.Response:
        session = await get_session(request)
        extra: dict[str, Any] = {}
        for hook in self.hooks:
            extra.update(await hook(request))
        page = self.env.get_template(name).render(
            **extra,
            user=current_user(request),
            csrf_token=csrf_token(session),
            request_id=request.get(REQUEST_ID, ""),
            path=request.path,
            **context,
        )
        response = web.Response(text=page, status=status, content_type="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response


TEMPLATES = web.AppKey("templates", Templates)
