"""Disputes: opened by a mentee, decided by an administrator."""

from __future__ import annotations

from aiohttp import web

from server.clock import Clock
from server.db.engine import Database
from server.payments.money import Money


class Disputes:
    def __init__(self, db: Database, money: Money, *, clock: Clock) -> None:
        self.db = db
        self.money = money
        self.clock = clock


DISPUTES = web.AppKey("disputes", Disputes)
