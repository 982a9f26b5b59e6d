"""Helpers for the reviews tests: a paid call that ends `completed` through the calls service's
own finish path, and ratings written straight into the database for ranking tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from server.calls.service import CALLS
from server.db.models import Booking, Review
from tests.conftest import FakeClock
from tests.support.booking import Client, Site, book, first_slot, pay


@dataclass
class Call:
    mentor: Client
    mentor_id: int
    mentor_token: str
    mentee: Client
    mentee_id: int
    mentee_token: str
    booking_id: int


async def hold_the_call(app: web.Application, booking_id: int) -> datetime:
    """Stores what a room stores for a call both sides attended long enough to be completed;
    returns when it ends (the sweeper finishes it after that)."""
    calls = app[CALLS]
    async with calls.db.write() as s:
        booking = await s.get(Booking, booking_id)
        assert booking is not None
        booking.status = "in_call"
        booking.call_started_at = booking.starts_at
        booking.mentor_connected_at = booking.mentee_connected_at = booking.starts_at
        booking.call_ends_at = booking.booked_end
        booking.together_seconds = calls.settings.min_completed_seconds
        return booking.booked_end


async def paid_call(site: Site, mentee_email: str = "e@example.org") -> Call:
    mentor, mentor_id, mentor_token = await site.mentor()
    mentee, mentee_id, mentee_token = await site.user(mentee_email)
    created = await book(mentee, mentee_token, mentor_id, await first_slot(mentee, mentor_id))
    booking = await pay(mentee, mentee_token, created)
    return Call(
        mentor, mentor_id, mentor_token, mentee, mentee_id, mentee_token, int(booking["id"])
    )


async def complete(site: Site, clock: FakeClock, booking_id: int) -> None:
    """The call is held, its time runs out, and the sweeper's round ends it `completed`."""
    app = site.server.app
    clock.now = await hold_the_call(app, booking_id) + timedelta(minutes=1)
    assert await app[CALLS].finish_overdue() == 1
    async with app[CALLS].db.read() as s:
        booking = await s.get(Booking, booking_id)
        assert booking is not None and booking.status == "completed"


async def add_reviews(
    app: web.Application, mentor_id: int, mentee_id: int, stars: list[int]
) -> None:
    """A completed booking and a visible review for each rating, written directly."""
    calls = app[CALLS]
    now = calls.clock()
    async with calls.db.write() as s:
        for rating in stars:
            booking = Booking(
                mentor_id=mentor_id,
                mentee_id=mentee_id,
                starts_at=now - timedelta(days=1),
                duration_seconds=1800,
                status="completed",
                created_at=now - timedelta(days=2),
            )
            s.add(booking)
            await s.flush()
            s.add(
                Review(
                    booking_id=booking.id,
                    mentor_id=mentor_id,
                    mentee_id=mentee_id,
                    rating=rating,
                    text="",
                    created_at=now,
                    reply="",
                    hidden_note="",
                )
            )


def headers(token: str) -> dict[str, Any]:
    return {"X-CSRF-Token": token}
