"""The dispute pages: opening one, and the administrators' queue."""

from __future__ import annotations

from server.http.routes import RouteTable

routes = RouteTable("pages")
