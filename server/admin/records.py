"""What the console reads: every booking with filters, one booking's money trail from the
ledger (its transactions, payment orders and refunds, and the escrow after each step), and the
audit log. Nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from aiohttp import web
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from billing.ledger import escrow
from server.booking.bookings import EARLIEST_YEAR, LATEST_YEAR
from server.db.engine import Database
from server.db.models import (
    AuditEntry,
    Booking,
    Dispute,
    LedgerEntry,
    LedgerTransaction,
    PaymentOrder,
    RefundRecord,
    Review,
    User,
)
from server.http.errors import ApiError
from server.http.schema import INT_MAX

# Pages past this are surely mistakes; it keeps OFFSET within what every database takes.
MAX_PAGE = 100_000
BookingStatus = Literal[
    "",
    "pending_payment",
    "confirmed",
    "in_call",
    "completed",
    "cancelled",
    "expired",
    "no_show",
]


@dataclass(frozen=True)
class BookingQuery:
    status: BookingStatus = ""
    mentor: str = field(
        default="", metadata={"max_length": 254, "description": "an id, or part of a name or email"}
    )
    mentee: str = field(
        default="", metadata={"max_length": 254, "description": "an id, or part of a name or email"}
    )
    from_date: str = field(
        default="", metadata={"format": "date", "description": "starting on or after (UTC)"}
    )
    to_date: str = field(
        default="", metadata={"format": "date", "description": "starting on or before (UTC)"}
    )
    page: int = field(default=1, metadata={"minimum": 1, "maximum": MAX_PAGE})
    per_page: int = field(default=20, metadata={"minimum": 1, "maximum": 100})


@dataclass(frozen=True)
class AuditQuery:
    action: str = field(default="", metadata={"max_length": 40})
    subject: str = field(
        default="", metadata={"max_length": 41, "description": "type:id, e.g. user:7"}
    )
    page: int = field(default=1, metadata={"minimum": 1, "maximum": MAX_PAGE})
    per_page: int = field(default=20, metadata={"minimum": 1, "maximum": 100})


@dataclass(frozen=True)
class BookingRow:
    booking: Booking
    mentor: User
    mentee: User


@dataclass(frozen=True)
class TrailStep:
    """One ledger transaction of the booking, and what its escrow holds after it."""

    transaction: LedgerTransaction
    entries: list[LedgerEntry]
    escrow_after: int


@dataclass(frozen=True)
class BookingTrail:
    row: BookingRow
    steps: list[TrailStep]
    orders: list[PaymentOrder]
    refunds: list[RefundRecord]

    @property
    def escrow_paise(self) -> int:
        return self.steps[-1].escrow_after if self.steps else 0


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    actor_name: str


def day(text: str, name: str) -> date:
    """A YYYY-MM-DD date from a query parameter; a 400 naming it otherwise."""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "invalid_field", "must be a date, YYYY-MM-DD", name) from None
    if len(text) != 10 or not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ApiError(
            400, "invalid_field", f"must be YYYY-MM-DD in {EARLIEST_YEAR}–{LATEST_YEAR}", name
        )
    return value


def subject_of(text: str) -> tuple[str, int]:
    """ "user:7" into ("user", 7); a 400 otherwise."""
    kind, _, number = text.partition(":")
    if (
        not kind
        or not number.isascii()
        or not number.isdigit()
        or len(number) > 19
        or int(number) > INT_MAX
    ):
        raise ApiError(400, "invalid_field", "must be type:id, e.g. user:7", "subject")
    return kind, int(number)


def _person(column: ColumnElement[int], person: type[User], text: str) -> ColumnElement[bool]:
    """A booking's mentor or mentee by id, or by part of the name or email."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= INT_MAX:
        return column == int(text)
    needle = text.lower()
    return or_(
        func.lower(person.name).contains(needle, autoescape=True),
        person.email.contains(needle, autoescape=True),
    )


async def audit_rows(
    s: AsyncSession, where: list[ColumnElement[bool]], offset: int, limit: int
) -> tuple[list[AuditRow], int]:
    """Audit entries, newest first, with their actors' names, and how many match."""
    total = await s.scalar(select(func.count()).select_from(AuditEntry).where(*where))
    rows = await s.execute(
        select(AuditEntry, User.name)
        .join(User, User.id == AuditEntry.actor_id)
        .where(*where)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [AuditRow(entry, name) for entry, name in rows], int(total or 0)


class Records:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def bookings(self, query: BookingQuery) -> tuple[list[BookingRow], int]:
        """Bookings matching the filters, newest first, one page of them, and how many match."""
        mentor, mentee = aliased(User), aliased(User)
        where: list[ColumnElement[bool]] = []
        if query.status:
            where.append(Booking.status == query.status)
        if query.mentor.strip():
            where.append(_person(Booking.mentor_id, mentor, query.mentor))  # type: ignore[arg-type]
        if query.mentee.strip():
            where.append(_person(Booking.mentee_id, mentee, query.mentee))  # type: ignore[arg-type]
        if query.from_date:
            start = datetime.combine(day(query.from_date, "from_date"), time(), UTC)
            where.append(Booking.starts_at >= start)
        if query.to_date:
            end = datetime.combine(day(query.to_date, "to_date"), time(), UTC) + timedelta(days=1)
            where.append(Booking.starts_at < end)
        base = (
            select(Booking, mentor, mentee)
            .join(mentor, mentor.id == Booking.mentor_id)
            .join(mentee, mentee.id == Booking.mentee_id)
            .where(*where)
        )
        async with self.db.read() as s:
            total = await s.scalar(select(func.count()).select_from(base.subquery()))
            rows = await s.execute(
                base.order_by(Booking.created_at.desc(), Booking.id.desc())
                .offset((query.page - 1) * query.per_page)
                .limit(query.per_page)
            )
            return [BookingRow(*row) for row in rows], int(total or 0)

    async def linked(self, booking_id: int) -> tuple[Dispute | None, Review | None]:
        """The booking's dispute and review, if any, for its page."""
        async with self.db.read() as s:
            dispute = await s.scalar(select(Dispute).where(Dispute.booking_id == booking_id))
            review = await s.scalar(select(Review).where(Review.booking_id == booking_id))
        return dispute, review

    async def trail(self, booking_id: int) -> BookingTrail:
        """One booking and its money: every ledger transaction for it, oldest first, with
        the escrow after each; its payment orders and refund records."""
        mentor, mentee = aliased(User), aliased(User)
        async with self.db.read() as s:
            found = (
                await s.execute(
                    select(Booking, mentor, mentee)
                    .join(mentor, mentor.id == Booking.mentor_id)
                    .join(mentee, mentee.id == Booking.mentee_id)
                    .where(Booking.id == booking_id)
                )
            ).first()
            if found is None:
                raise ApiError(404, "not_found", "no such booking")
            transactions = list(
                await s.scalars(
                    select(LedgerTransaction)
                    .where(LedgerTransaction.booking_id == booking_id)
                    .order_by(LedgerTransaction.created_at, LedgerTransaction.id)
                )
            )
            entries = list(
                await s.scalars(
                    select(LedgerEntry)
                    .where(LedgerEntry.transaction_id.in_([t.id for t in transactions]))
                    .order_by(LedgerEntry.id)
                )
            )
            orders = list(
                await s.scalars(
                    select(PaymentOrder)
                    .where(PaymentOrder.booking_id == booking_id)
                    .order_by(PaymentOrder.created_at)
                )
            )
            refunds = list(
                await s.scalars(
                    select(RefundRecord)
                    .where(RefundRecord.booking_id == booking_id)
                    .order_by(RefundRecord.created_at, RefundRecord.id)
                )
            )
        account = escrow(booking_id)
        steps, held = [], 0
        for transaction in transactions:
            mine = [e for e in entries if e.transaction_id == transaction.id]
            held += sum(e.amount_paise for e in mine if e.account == account)
            steps.append(TrailStep(transaction, mine, held))
        return BookingTrail(BookingRow(*found), steps, orders, refunds)

    async def audit(self, query: AuditQuery) -> tuple[list[AuditRow], int]:
        where: list[ColumnElement[bool]] = []
        if query.action.strip():
            where.append(AuditEntry.action == query.action.strip())
        if query.subject.strip():
            kind, subject_id = subject_of(query.subject.strip())
            where += [AuditEntry.subject_type == kind, AuditEntry.subject_id == subject_id]
        async with self.db.read() as s:
            return await audit_rows(s, where, (query.page - 1) * query.per_page, query.per_page)

    async def actions(self) -> list[str]:
        """Every action the log holds, for the page's filter."""
        async with self.db.read() as s:
            return sorted(await s.scalars(select(AuditEntry.action).distinct()))


RECORDS = web.AppKey("records", Records)
