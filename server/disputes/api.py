"""The disputes API."""

from __future__ import annotations

from server.http.routes import RouteTable

routes = RouteTable("disputes")
