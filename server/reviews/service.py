"""Reviews: written, edited, replied to, reported and moderated; the rating figures."""

from __future__ import annotations

from aiohttp import web

from server.clock import Clock
from server.db.engine import Database


class Reviews:
    def __init__(self, db: Database, *, clock: Clock) -> None:
        self.db = db
        self.clock = clock


REVIEWS = web.AppKey("reviews", Reviews)
