"""Helpers for the console's tests: administrator calls, a paid booking at a chosen time, the
ledger and the notifications as the database holds them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from server.db.engine import DATABASE
from server.db.models import Booking, LedgerEntry, LedgerTransaction, Notification
from server.notifications.service import NOTIFICATIONS
from tests.support.booking import Client, Site, book, iso, pay


def csrf(token: str) -> dict[str, str]:
    return {"X-CSRF-Token": token}


async def call(client: Client, method: str, path: str, token: str, **json: Any) -> Any:
    """An API call as the client's user; returns (status, body)."""
    response = await client.request(method, path, json=json or None, headers=csrf(token))
    return response.status, await response.json()


async def paid_booking_at(
    site: Site, mentee: Client, token: str, mentor_id: int, at: datetime
) -> dict[str, Any]:
    """Books and pays for the mentor's first free slot from `at` on."""
    slots = await (
        await mentee.get(
            f"/api/mentors/{mentor_id}/slots",
            params={"from": iso(at), "to": iso(at + timedelta(hours=2))},
        )
    ).json()
    start = slots["slots"][0]["start"]
    return await pay(mentee, token, await book(mentee, token, mentor_id, start))


async def booking_row(site: Site, booking_id: int) -> Booking:
    async with site.server.app[DATABASE].read() as s:
        booking = await s.get(Booking, booking_id)
    assert booking is not None
    return booking


async def ledger_of(site: Site, booking_id: int) -> dict[str, dict[str, int]]:
    """{transaction kind: {account: amount}} of one booking."""
    async with site.server.app[DATABASE].read() as s:
        rows = await s.execute(
            select(LedgerTransaction.kind, LedgerEntry.account, LedgerEntry.amount_paise)
            .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
            .where(LedgerTransaction.booking_id == booking_id)
        )
        found: dict[str, dict[str, int]] = {}
        for kind, account, amount in rows:
            found.setdefault(kind, {})[account] = amount
    return found


async def notified(site: Site, user_id: int, kind: str) -> list[Notification]:
    """The user's in-app notifications of a kind, after the worker's next round."""
    await site.server.app[NOTIFICATIONS].tick()
    async with site.server.app[DATABASE].read() as s:
        return list(
            await s.scalars(
                select(Notification).where(
                    Notification.user_id == user_id, Notification.kind == kind
                )
            )
        )
