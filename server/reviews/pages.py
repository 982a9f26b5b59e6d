"""The review pages: writing one, and moderating reported ones."""

from __future__ import annotations

from server.http.routes import RouteTable

routes = RouteTable("pages")
