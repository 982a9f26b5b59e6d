"""Administering users: search, view, suspend and reactivate, the administrator role.

Every change writes its audit entry (server/db/audit.py) in the transaction that makes it.
Suspending a user, in one transaction: marks the account, ends its logins, and cancels its
bookings that have not started as if the user had cancelled them (the refund the policy gives
the other side, the booking_cancelled event that tells them). After the commit the refunds go
through the payments domain and the user's live sockets close.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web
from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.ledger import wallet
from server.accounts.service import Accounts
from server.admin.records import MAX_PAGE, AuditRow, audit_rows
from server.booking.bookings import Bookings, bookings_ahead, policy_refund
from server.clock import Clock
from server.db import audit
from server.db.engine import Database
from server.db.models import AuditEntry, Booking, LoginSession, User
from server.http.errors import ApiError
from server.live import LiveHub
from server.payments.money import Money

log = logging.getLogger("micromentor.admin")
# The cancel_reason of the bookings a suspension cancels (both sides see it).
SUSPENSION_CANCEL_REASON = "account suspended"
RECENT_AUDIT = 10


@dataclass(frozen=True)
class UserQuery:
    q: str = field(default="", metadata={"max_length": 254, "description": "in the name or email"})
    role: Literal["", "mentee", "mentor", "both"] = ""
    admin: Literal["", "true", "false"] = ""
    suspended: Literal["", "true", "false"] = ""
    page: int = field(default=1, metadata={"minimum": 1, "maximum": MAX_PAGE})
    per_page: int = field(default=20, metadata={"minimum": 1, "maximum": 100})


@dataclass(frozen=True)
class Suspension:
    reason: str = field(
        metadata={"min_length": 1, "max_length": 500, "description": "why; kept in the audit log"}
    )


@dataclass(frozen=True)
class AdminRole:
    is_admin: bool


@dataclass(frozen=True)
class UserView:
    """One user as the console shows them."""

    user: User
    as_mentor: int
    as_mentee: int
    wallet_paise: int | None  # mentors only
    audit: list[AuditRow]
    # What suspending now would cancel: each booking ahead and the mentee's refund.
    ahead: list[tuple[Booking, int]] = field(default_factory=list)


def is_mentor(user: User) -> bool:
    return user.role in ("mentor", "both")


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

    # -- reading ------------------------------------------------------------------------------

    async def search(self, query: UserQuery) -> tuple[list[User], int]:
        """Users matching the query, newest first, one page of them, and how many match."""
        where: list[ColumnElement[bool]] = []
        needle = query.q.strip().lower()
        if needle:
            where.append(
                or_(
                    func.lower(User.name).contains(needle, autoescape=True),
                    User.email.contains(needle, autoescape=True),  # stored lower-case
                )
            )
        if query.role:  # "mentor" finds those who are both too, and so does "mentee"
            roles = (query.role,) if query.role == "both" else (query.role, "both")
            where.append(User.role.in_(roles))
        if query.admin:
            where.append(User.is_admin.is_(query.admin == "true"))
        if query.suspended == "true":
            where.append(User.suspended_at.is_not(None))
        elif query.suspended == "false":
            where.append(User.suspended_at.is_(None))
        async with self.db.read() as s:
            total = await s.scalar(select(func.count()).select_from(User).where(*where))
            rows = await s.scalars(
                select(User)
                .where(*where)
                .order_by(User.id.desc())
                .offset((query.page - 1) * query.per_page)
                .limit(query.per_page)
            )
            return list(rows), int(total or 0)

    async def view(self, user_id: int) -> UserView:
        async with self.db.read() as s:
            user = await s.get(User, user_id)
            if user is None:
                raise ApiError(404, "not_found", "no such user")
            as_mentor, as_mentee = (
                await s.execute(
                    select(
                        func.count().filter(Booking.mentor_id == user_id),
                        func.count().filter(Booking.mentee_id == user_id),
                    ).where(or_(Booking.mentor_id == user_id, Booking.mentee_id == user_id))
                )
            ).one()
            entries, _total = await audit_rows(
                s,
                [AuditEntry.subject_type == "user", AuditEntry.subject_id == user_id],
                0,
                RECENT_AUDIT,
            )
            now = self.clock()
            ahead = list(await s.scalars(bookings_ahead(user_id, now)))
        balance = await self.money.balance(wallet(user_id)) if is_mentor(user) else None
        refunds = [(b, policy_refund(b, user_id, now)) for b in ahead]
        return UserView(user, int(as_mentor), int(as_mentee), balance, entries, refunds)

    # -- changing -----------------------------------------------------------------------------

    async def suspend(self, admin: User, user_id: int, reason: str) -> list[Booking]:
        """Suspends the user; returns the bookings it cancelled."""
        reason = reason.strip()
        if not reason:
            raise ApiError(400, "invalid_field", "must not be blank", "reason")
        now = self.clock()
        async with self.db.write() as s:
            user = await self._user(s, user_id)
            if user.id == admin.id:
                raise ApiError(409, "cannot_suspend_self", "you cannot suspend your own account")
            if user.suspended_at is not None:
                raise ApiError(409, "already_suspended", "this account is suspended already")
            if user.is_admin:
                await self._keep_an_admin(s, user.id)
            user.suspended_at = now
            user.suspended_reason = reason
            await s.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
            cancelled = await self.bookings.cancel_ahead_of(
                s, user.id, SUSPENSION_CANCEL_REASON, now
            )
            audit.record(
                s,
                admin.id,
                "user_suspended",
                ("user", user.id),
                now,
                before={"suspended": False},
                after={
                    "suspended": True,
                    "reason": reason,
                    "cancelled_bookings": [b.id for b in cancelled],
                },
                note=reason,
            )
        for booking in cancelled:
            try:  # the money as a cancellation by the user moves it
                await self.money.cancelled(booking.id, booking.refund_paise or 0)
            except Exception:  # the sweeper's settle_leftovers finishes it
                log.exception("the refund of booking %s waits for the sweeper", booking.id)
        await self.live.close_user(user.id)
        return cancelled

    async def reactivate(self, admin: User, user_id: int) -> None:
        now = self.clock()
        async with self.db.write() as s:
            user = await self._user(s, user_id)
            if user.suspended_at is None:
                raise ApiError(409, "not_suspended", "this account is not suspended")
            before = {"suspended": True, "reason": user.suspended_reason}
            user.suspended_at = None
            user.suspended_reason = ""
            audit.record(
                s,
                admin.id,
                "user_reactivated",
                ("user", user.id),
                now,
                before=before,
                after={"suspended": False},
            )

    async def set_admin(self, admin: User, user_id: int, is_admin: bool) -> None:
        """Grants or removes the administrator role; never the last active administrator's,
        never one's own."""
        now = self.clock()
        async with self.db.write() as s:
            user = await self._user(s, user_id)
            if is_admin and user.suspended_at is not None:
                raise ApiError(
                    409, "suspended", "reactivate this account before making it an administrator"
                )
            if user.is_admin == is_admin:
                what = "an administrator already" if is_admin else "not an administrator"
                raise ApiError(409, "unchanged", f"this user is {what}", "is_admin")
            if not is_admin:
                await self._keep_an_admin(s, user.id)
                if user.id == admin.id:
                    raise ApiError(
                        409,
                        "cannot_remove_own_admin",
                        "you cannot remove your own administrator role; ask another administrator",
                    )
            user.is_admin = is_admin
            audit.record(
                s,
                admin.id,
                "admin_granted" if is_admin else "admin_removed",
                ("user", user.id),
                now,
                before={"is_admin": not is_admin},
                after={"is_admin": is_admin},
            )

    async def _user(self, s: AsyncSession, user_id: int) -> User:
        user = await s.scalar(select(User).where(User.id == user_id).with_for_update())
        if user is None:
            raise ApiError(404, "not_found", "no such user")
        return user

    async def _keep_an_admin(self, s: AsyncSession, leaving_id: int) -> None:
        """A 409 unless another active (not suspended) administrator remains."""
        others = await s.scalars(
            select(User.id)
            .where(User.is_admin.is_(True), User.suspended_at.is_(None), User.id != leaving_id)
            .with_for_update()
        )
        if not list(others):
            raise ApiError(
                409, "last_admin", "this is the last administrator; make another one first"
            )


USER_ADMIN = web.AppKey("user_admin", UserAdmin)
