"""Routes as data: each domain declares its routes beside its handlers in a RouteTable, and
the app builds both the router and the OpenAPI document (server/http/openapi.py) from them.

A route that is not declared in a table does not exist, so `/api/openapi.json` cannot fall
behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from server.http.errors import Handler
from server.http.security import CSRF_EXEMPT

ROUTES = web.AppKey("routes", list["Route"])


@dataclass(frozen=True)
class QueryParam:
    name: str
    description: str
    type: Literal["string", "integer", "boolean"] = "string"
    required: bool = False


# The query parameters of every paginated list.
PAGE = (
    QueryParam("page", "page number, from 1", "integer"),
    QueryParam("per_page", "items per page, at most 100", "integer"),
)


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: after this route succeeds, `parameters` of the route at `method path`
    can be taken from its response (runtime expressions such as `$response.body#/booking/id`).
    Clients and schemathesis's stateful tests follow them."""

    name: str
    method: str
    path: str
    parameters: tuple[tuple[str, str], ...]


def link(name: str, target: str, **parameters: str) -> Link:
    """link("booking", "GET /api/bookings/{booking_id}", booking_id="$response.body#/id")"""
    method, path = target.split(" ", 1)
    return Link(name, method, path, tuple(parameters.items()))


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type | None = None
    response: type | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    login: bool = False
    csrf: bool = True
    kind: Literal["json", "html", "text", "redirect", "websocket"] = "json"
    query: tuple[QueryParam, ...] = ()
    also_ok: tuple[int, ...] = ()  # other success statuses, e.g. 200 beside 201
    media_type: str = ""  # the success body's type when `kind` does not say it (a file)
    links: tuple[Link, ...] = ()


class RouteTable(list[Route]):
    """The routes of one module, each declared by a decorator on its handler.

    routes = RouteTable("mentors")

    @routes.get("/api/mentors", "Find approved mentors", errors=(400,))
    async def list_mentors(request: web.Request) -> web.Response: ...
    """

    def __init__(self, tag: str) -> None:
        super().__init__()
        self.tag = tag

    def route(
        self, method: str, path: str, summary: str, **options: Any
    ) -> Callable[[Handler], Handler]:
        options.setdefault("tag", self.tag)

        def declare(handler: Handler) -> Handler:
            self.append(Route(method, path, handler, summary, **options))
            return handler

        return declare

    def get(self, path: str, summary: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, summary, **options)

    def post(self, path: str, summary: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, summary, **options)

    def put(self, path: str, summary: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, summary, **options)

    def delete(self, path: str, summary: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, summary, **options)

    def page(self, path: str, summary: str, **options: Any) -> Callable[[Handler], Handler]:
        """A GET that answers an HTML page, listed under the "pages" tag."""
        options.setdefault("kind", "html")
        options.setdefault("tag", "pages")
        return self.route("GET", path, summary, **options)


def add_routes(app: web.Application, routes: list[Route]) -> None:
    app.setdefault(ROUTES, [])
    app.setdefault(CSRF_EXEMPT, set())
    for route in routes:
        app.router.add_route(route.method, route.path, route.handler)
        app[ROUTES].append(route)
        if not route.csrf:
            app[CSRF_EXEMPT].add(route.path)
