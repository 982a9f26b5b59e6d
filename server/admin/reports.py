"""Revenue and activity per day, week or month, drawn from the ledger."""

from __future__ import annotations

from aiohttp import web

from server.clock import Clock
from server.db.engine import Database


class Reports:
    def __init__(self, db: Database, *, clock: Clock) -> None:
        self.db = db
        self.clock = clock


REPORTS = web.AppKey("reports", Reports)
