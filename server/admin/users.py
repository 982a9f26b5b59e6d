"""Administering users: search, suspend and reactivate, the administrator role."""

from __future__ import annotations

from aiohttp import web

from server.accounts.service import Accounts
from server.booking.bookings import Bookings
from server.clock import Clock
from server.db.engine import Database
from server.live import LiveHub
from server.payments.money import Money


class UserAdmin:
    def __init__(
        self,
        db: Database,
        accounts: Accounts,
        bookings: Bookings,
        money: Money,
        live: LiveHub,
        *,
        clock: Clock,
    ) -> None:
        self.db = db
        self.accounts = accounts
        self.bookings = bookings
        self.money = money
        self.live = live
        self.clock = clock


USER_ADMIN = web.AppKey("user_admin", UserAdmin)
