"""The administrators' API: users, bookings, revenue, the audit log."""

from __future__ import annotations

from server.http.routes import RouteTable

routes = RouteTable("admin")
