"""Booking: holding a slot, cancelling by the policy, requests for other times. No HTTP here.

Double booking is impossible twice over: the check for overlapping bookings and the insert run
in one serialised write transaction (BEGIN IMMEDIATE on SQLite, a row lock on the mentor's
profile on PostgreSQL), and a partial unique index refuses two live bookings of one mentor at
the same start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, get_args
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from billing.refunds import cancellation_refund
from media.config import CallSettings
from server.booking.slots import SlotRules, Span, Window, free_slots
from server.clock import Clock
from server.config import BookingSettings
from server.db import events
from server.db.engine import Database
from server.db.models import (
    LIVE_STATUSES,
    AvailabilityWindow,
    BlockedPeriod,
    Booking,
    BookingRequest,
    MentorProfile,
    User,
)
from server.http.errors import ApiError, too_many

Topic = Literal[
    "DSA Problem Solving",
    "System Design",
    "Resume Review",
    "Mock Interview",
    "Career Guidance",
    "Custom",
]
TOPICS: tuple[str, ...] = get_args(Topic)
CANCELLABLE = ("pending_payment", "confirmed")
# A mentee can move a confirmed call once, until this long before it starts.
RESCHEDULE_BEFORE = timedelta(hours=4)
# Overlap queries look this far back for bookings that could still run into a time; no call
# is anywhere near this long ([calls] duration_seconds is minutes).
LONGEST_CALL = timedelta(hours=6)


@dataclass(frozen=True)
class NewBooking:
    mentor_id: int
    start: str = field(metadata={"format": "date-time", "description": "a free slot's start"})
    topic: Topic
    accept_policy: bool = field(
        metadata={"description": "the mentee accepts the cancellation policy; must be true"}
    )
    agenda: str = field(default="", metadata={"max_length": 500})
    record: bool = field(
        default=False,
        metadata={"description": "ask for a recording; 409 when the mentor turned it off"},
    )
    pay_with: Literal["card", "sponsored"] = field(
        default="card",
        metadata={
            "description": "card: answer with a payment order; sponsored: use one of your "
            "free calls or credits (409 when you have none) and the booking is confirmed"
        },
    )


@dataclass(frozen=True)
class Cancellation:
    reason: str = field(metadata={"min_length": 1, "max_length": 500})


@dataclass(frozen=True)
class NewRequest:
    mentor_id: int
    start: str = field(metadata={"format": "date-time"})
    topic: Topic
    agenda: str = field(default="", metadata={"max_length": 500})


@dataclass(frozen=True)
class Decision:
    note: str = field(default="", metadata={"max_length": 500})


# Times outside these years are surely mistakes, and near year 1 or 9999 arithmetic overflows.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2200


def parse_instant(text: str, field_name: str) -> datetime:
    """An ISO 8601 time with a zone (2026-11-21T10:30:00Z), as UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "invalid_field", "must be an ISO 8601 time", field_name) from None
    if value.tzinfo is None:
        raise ApiError(400, "invalid_field", "must include a time zone (Z for UTC)", field_name)
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ApiError(
            400, "invalid_field", f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}", field_name
        )
    return value.astimezone(UTC)


class Bookings:
    def __init__(
        self,
        db: Database,
        settings: BookingSettings,
        calls: CallSettings,
        *,
        clock: Clock,
    ) -> None:
        self.db = db
        self.settings = settings
        self.duration = timedelta(seconds=calls.duration_seconds)
        self.grace = timedelta(seconds=calls.grace_seconds)
        self.clock = clock
        self.rules = SlotRules(
            duration=self.duration,
            buffer=timedelta(minutes=settings.buffer_minutes),
            min_notice=timedelta(minutes=settings.min_notice_minutes),
            horizon=timedelta(days=settings.horizon_days),
        )

    # -- slots --------------------------------------------------------------------------------

    async def slots(self, mentor_id: int, start: datetime, end: datetime) -> list[Span]:
        """A listed mentor's free slots starting in [start, end); [] for anyone else (a
        suspended mentor too)."""
        async with self.db.read() as s:
            profile = await s.get(MentorProfile, mentor_id)
            if profile is None or profile.status != "approved" or profile.vacation:
                return []
            mentor = await s.get(User, mentor_id)
            if mentor is None or mentor.suspended_at is not None:
                return []
            windows, busy = await self._schedule(s, mentor_id, start, end)
        return free_slots(
            windows,
            ZoneInfo(profile.timezone),
            busy=busy,
            rules=self.rules,
            start=start,
            end=end,
            now=self.clock(),
        )

    async def _schedule(
        self, s: AsyncSession, mentor_id: int, start: datetime, end: datetime
    ) -> tuple[list[Window], list[Span]]:
        windows = [
            Window(w.weekday, w.start_minute, w.end_minute)
            for w in await s.scalars(
                select(AvailabilityWindow).where(AvailabilityWindow.mentor_id == mentor_id)
            )
        ]
        margin = timedelta(days=1)
        blocked = [
            Span(b.starts_at, b.ends_at)
            for b in await s.scalars(
                select(BlockedPeriod).where(
                    BlockedPeriod.mentor_id == mentor_id,
                    BlockedPeriod.ends_at > start - margin,
                    BlockedPeriod.starts_at < end + margin,
                )
            )
        ]
        booked = [
            Span(b.starts_at, b.booked_end)
            for b in await self._live(
                s, Booking.mentor_id == mentor_id, start - margin, end + margin
            )
        ]
        return windows, blocked + booked

    async def _live(
        self, s: AsyncSession, who: object, start: datetime, end: datetime
    ) -> list[Booking]:
        """Bookings holding their time around [start, end): paid, in a call, or held unpaid."""
        now = self.clock()
        rows = await s.scalars(
            select(Booking).where(
                who,  # type: ignore[arg-type]
                Booking.status.in_(LIVE_STATUSES),
                Booking.starts_at < end,
                Booking.starts_at > start - LONGEST_CALL,
            )
        )
        return [
            b
            for b in rows
            if not (
                b.status == "pending_payment"
                and b.hold_expires_at is not None
                and b.hold_expires_at <= now
            )
        ]

    # -- booking --------------------------------------------------------------------------------

    async def create(self, mentee: User, body: NewBooking) -> Booking:
        await self._check_rate(mentee.id)
        start = parse_instant(body.start, "start")
        if not body.accept_policy:
            raise ApiError(
                400, "invalid_field", "accept the cancellation policy to book", "accept_policy"
            )
        if body.mentor_id == mentee.id:
            raise ApiError(400, "invalid_field", "you cannot book yourself", "mentor_id")
        async with self.db.read() as s:
            profile = await s.get(MentorProfile, body.mentor_id)
        if profile is None or profile.status != "approved":
            raise ApiError(404, "not_found", "no such mentor", "mentor_id")
        if body.record and not profile.allow_recording:
            raise ApiError(
                409, "recording_off", "this mentor does not allow recording their calls", "record"
            )
        await self._check_offered(body.mentor_id, start, start + self.duration)
        return await self._insert(
            mentee.id, profile, start, body.topic, body.agenda, body.record, cap_holds=True
        )

    async def _check_rate(self, mentee_id: int) -> None:
        """At most [booking] bookings_per_minute new bookings a minute per user (PRD 14.1)."""
        since = self.clock() - timedelta(minutes=1)
        async with self.db.read() as s:
            count, oldest = (
                await s.execute(
                    select(func.count(), func.min(Booking.created_at)).where(
                        Booking.mentee_id == mentee_id, Booking.created_at > since
                    )
                )
            ).one()
        if count >= self.settings.bookings_per_minute:
            wait = math.ceil((oldest - since).total_seconds())
            raise too_many(wait, f"at most {self.settings.bookings_per_minute} bookings a minute")

    async def _check_offered(self, mentor_id: int, start: datetime, end: datetime) -> None:
        """A 409 unless [start, end) is one of the mentor's free slots; the code says whether
        someone took it or it was never offered."""
        offered = await self.slots(mentor_id, start, start + timedelta(seconds=1))
        if Span(start, end) in offered:
            return
        if await self._taken(mentor_id, start, end):
            raise ApiError(409, "slot_taken", "someone else booked this slot", "start")
        raise ApiError(409, "slot_unavailable", "this mentor offers no call then", "start")

    async def _taken(self, mentor_id: int, start: datetime, end: datetime) -> bool:
        async with self.db.read() as s:
            return any(
                Span(b.starts_at, b.booked_end).overlaps(Span(start, end))
                for b in await self._live(s, Booking.mentor_id == mentor_id, start, end)
            )

    async def _insert(
        self,
        mentee_id: int,
        profile: MentorProfile,
        start: datetime,
        topic: str,
        agenda: str,
        record: bool,
        *,
        cap_holds: bool = False,
    ) -> Booking:
        """Inserts a booking pending payment. With `cap_holds` (a mentee booking, not a mentor
        accepting a request) the mentee may hold at most [booking] max_unpaid_holds at once."""
        now = self.clock()
        end = start + self.duration
        guarded = Span(start - self.rules.buffer, end + self.rules.buffer)
        try:
            async with self.db.write() as s:
                if not self.db.is_sqlite:  # serialise bookings of one mentor (and this mentee)
                    await s.execute(
                        select(MentorProfile.user_id)
                        .where(MentorProfile.user_id == profile.user_id)
                        .with_for_update()
                    )
                    await s.execute(select(User.id).where(User.id == mentee_id).with_for_update())
                await s.execute(
                    update(Booking)
                    .where(
                        Booking.status == "pending_payment",
                        Booking.hold_expires_at <= now,
                        or_(Booking.mentor_id == profile.user_id, Booking.mentee_id == mentee_id),
                    )
                    .values(status="expired")
                )
                if cap_holds:
                    holds = await s.scalar(
                        select(func.count()).where(
                            Booking.mentee_id == mentee_id, Booking.status == "pending_payment"
                        )
                    )
                    limit = self.settings.max_unpaid_holds
                    if (holds or 0) >= limit:
                        raise ApiError(
                            409,
                            "too_many_holds",
                            f"you already hold {limit} unpaid booking(s); pay for one or "
                            "cancel it before booking another",
                        )
                mentor_busy = await self._live(
                    s, Booking.mentor_id == profile.user_id, guarded.start, guarded.end
                )
                if any(guarded.overlaps(Span(b.starts_at, b.booked_end)) for b in mentor_busy):
                    raise ApiError(409, "slot_taken", "someone else booked this slot", "start")
                mentee_busy = await self._live(
                    s,
                    or_(Booking.mentee_id == mentee_id, Booking.mentor_id == mentee_id),
                    start,
                    end,
                )
                if any(
                    Span(start, end).overlaps(Span(b.starts_at, b.booked_end)) for b in mentee_busy
                ):
                    raise ApiError(
                        409, "overlapping_booking", "you already have a call at that time", "start"
                    )
                booking = Booking(
                    mentor_id=profile.user_id,
                    mentee_id=mentee_id,
                    starts_at=start,
                    duration_seconds=int(self.duration.total_seconds()),
                    status="pending_payment",
                    topic=topic,
                    agenda=agenda.strip(),
                    record=record,
                    amount_paise=profile.price_paise,
                    hold_expires_at=now + timedelta(minutes=self.settings.hold_minutes),
                    created_at=now,
                )
                s.add(booking)
                await s.flush()
        except IntegrityError:  # the partial unique index: a concurrent booking won
            raise ApiError(409, "slot_taken", "someone else booked this slot", "start") from None
        return booking

    async def release(self, booking_id: int) -> None:
        """Gives an unpaid booking's slot back at once (its payment order could not be made)."""
        async with self.db.write() as s:
            booking = await s.get(Booking, booking_id)
            if booking is not None and booking.status == "pending_payment":
                booking.status = "expired"

    async def expire_holds(self) -> int:
        """Unpaid bookings whose hold ran out give their slot back."""
        async with self.db.write() as s:
            result = await s.execute(
                update(Booking)
                .where(Booking.status == "pending_payment", Booking.hold_expires_at <= self.clock())
                .values(status="expired")
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # -- reading ------------------------------------------------------------------------------

    async def visible(self, user: User, booking_id: int) -> Booking:
        """The booking, for its mentor, its mentee and administrators; 404 for anyone else."""
        async with self.db.read() as s:
            booking = await s.get(Booking, booking_id)
        if booking is None or (booking.role_of(user.id) is None and not user.is_admin):
            raise ApiError(404, "not_found", "no such booking")
        return booking

    async def of_user(self, user: User, role: str | None, status: str | None) -> list[Booking]:
        await self.expire_holds()
        who = {
            "mentor": Booking.mentor_id == user.id,
            "mentee": Booking.mentee_id == user.id,
        }.get(role or "", or_(Booking.mentor_id == user.id, Booking.mentee_id == user.id))
        query = select(Booking).where(who).order_by(Booking.starts_at.desc())
        if status:
            query = query.where(Booking.status == status)
        async with self.db.read() as s:
            return list(await s.scalars(query))

    # -- cancelling ---------------------------------------------------------------------------

    def can_reschedule(self, user: User, booking: Booking) -> str | None:
        """Why `user` cannot move the booking now (a sentence), or None when they can."""
        if booking.mentee_id != user.id:
            return "only the mentee can move a booking; the mentor can cancel it"
        if booking.status != "confirmed":
            return f"a booking that is {booking.status.replace('_', ' ')} cannot be moved"
        if booking.rescheduled_at is not None:
            return "a booking can be moved once, and this one has been"
        if booking.starts_at - self.clock() < RESCHEDULE_BEFORE:
            return "a call can be moved until 4 hours before it starts"
        return None

    async def reschedule(self, user: User, booking_id: int, new_start: str) -> Booking:
        """Moves a confirmed booking to another free slot of the same mentor, once, until 4
        hours before it starts; the payment stays with it."""
        start = parse_instant(new_start, "start")
        booking = await self.visible(user, booking_id)
        why = self.can_reschedule(user, booking)
        if why is not None:
            status = 403 if booking.mentee_id != user.id else 409
            raise ApiError(status, "not_reschedulable", why)
        if start == booking.starts_at:
            raise ApiError(400, "invalid_field", "that is the time it has now", "start")
        end = start + timedelta(seconds=booking.duration_seconds)
        await self._check_offered(booking.mentor_id, start, end)
        now = self.clock()
        async with self.db.write() as s:
            row = await s.get(Booking, booking.id)
            if row is None or row.status != "confirmed" or row.rescheduled_at is not None:
                raise ApiError(409, "not_reschedulable", "the booking changed meanwhile")
            guarded = Span(start - self.rules.buffer, end + self.rules.buffer)
            busy = await self._live(
                s, Booking.mentor_id == row.mentor_id, guarded.start, guarded.end
            )
            if any(
                b.id != row.id and guarded.overlaps(Span(b.starts_at, b.booked_end)) for b in busy
            ):
                raise ApiError(409, "slot_taken", "someone else booked this slot", "start")
            mine = await self._live(
                s, or_(Booking.mentee_id == user.id, Booking.mentor_id == user.id), start, end
            )
            if any(
                b.id != row.id and Span(start, end).overlaps(Span(b.starts_at, b.booked_end))
                for b in mine
            ):
                raise ApiError(409, "mentee_busy", "you have another call then", "start")
            row.rescheduled_from = row.starts_at
            row.rescheduled_at = now
            row.starts_at = start
            events.record(s, "booking_rescheduled", row.id, now, actor_id=user.id)
        return row

    async def refund_if_cancelled_now(self, user: User, booking: Booking) -> int:
        """What the policy would refund if `user` cancelled the booking now (shown before
        they confirm)."""
        role = booking.role_of(user.id)
        paid = booking.paid_paise if booking.money_state == "held" else 0
        if role is None:
            return 0
        return cancellation_refund(
            paid,
            starts_at=booking.starts_at,
            cancelled_at=self.clock(),
            cancelled_by=role,  # type: ignore[arg-type]
        )

    async def cancel(self, user: User, booking_id: int, reason: str) -> Booking:
        now = self.clock()
        async with self.db.write() as s:
            booking = await s.get(Booking, booking_id)
            role = booking.role_of(user.id) if booking else None
            if booking is None or role is None:
                raise ApiError(404, "not_found", "no such booking")
            if booking.status not in CANCELLABLE:
                raise ApiError(
                    409,
                    "not_cancellable",
                    f"a booking that is {booking.status.replace('_', ' ')} cannot be cancelled",
                )
            cancel_as(s, booking, user.id, reason, now)
        return booking

    async def cancel_ahead_of(
        self, s: AsyncSession, user_id: int, reason: str, now: datetime
    ) -> list[Booking]:
        """Cancels, inside the caller's transaction, every booking of the user that has not
        started (pending payment or confirmed), as if they had cancelled it themselves (an
        account suspended). The caller tells CHECKOUT.cancelled for each after the commit."""
        rows = list(await s.scalars(bookings_ahead(user_id, now).with_for_update()))
        for booking in rows:
            cancel_as(s, booking, user_id, reason, now, suspended=True)
        return rows

    async def cancellation_rate(self, mentor_id: int) -> float:
        """Share of a mentor's paid bookings that the mentor cancelled."""
        async with self.db.read() as s:
            rows = list(
                await s.scalars(
                    select(Booking).where(
                        Booking.mentor_id == mentor_id,
                        Booking.status.in_(
                            ("confirmed", "in_call", "completed", "no_show", "cancelled")
                        ),
                    )
                )
            )
        paid = [b for b in rows if b.status != "cancelled" or b.refund_paise is not None]
        by_mentor = [b for b in rows if b.cancelled_by == "mentor"]
        return len(by_mentor) / len(paid) if paid else 0.0

    # -- requests for other times -------------------------------------------------------------

    async def request(self, mentee: User, body: NewRequest) -> BookingRequest:
        start = parse_instant(body.start, "start")
        now = self.clock()
        if body.mentor_id == mentee.id:
            raise ApiError(400, "invalid_field", "you cannot book yourself", "mentor_id")
        if start < now + self.rules.min_notice or start > now + self.rules.horizon:
            raise ApiError(
                400,
                "invalid_field",
                f"must be between {self.settings.min_notice_minutes} minutes "
                f"and {self.settings.horizon_days} days from now",
                "start",
            )
        async with self.db.write() as s:
            profile = await s.get(MentorProfile, body.mentor_id)
            if profile is None or profile.status != "approved":
                raise ApiError(404, "not_found", "no such mentor", "mentor_id")
            request = BookingRequest(
                mentor_id=body.mentor_id,
                mentee_id=mentee.id,
                proposed_start=start,
                topic=body.topic,
                agenda=body.agenda.strip(),
                status="pending",
                created_at=now,
            )
            s.add(request)
            await s.flush()
        return request

    async def requests_of(self, user: User, role: str | None) -> list[BookingRequest]:
        who = {
            "mentor": BookingRequest.mentor_id == user.id,
            "mentee": BookingRequest.mentee_id == user.id,
        }.get(
            role or "",
            or_(BookingRequest.mentor_id == user.id, BookingRequest.mentee_id == user.id),
        )
        async with self.db.read() as s:
            return list(
                await s.scalars(
                    select(BookingRequest).where(who).order_by(BookingRequest.created_at.desc())
                )
            )

    async def decide(
        self, mentor: User, request_id: int, accept: bool, note: str
    ) -> tuple[BookingRequest, Booking | None]:
        async with self.db.read() as s:
            request = await s.get(BookingRequest, request_id)
            profile = await s.get(MentorProfile, mentor.id)
        if request is None or request.mentor_id != mentor.id or profile is None:
            raise ApiError(404, "not_found", "no such request")
        if request.status != "pending":
            raise ApiError(409, "already_decided", f"this request was {request.status}")
        booking = None
        if accept:
            if request.proposed_start < self.clock():
                raise ApiError(409, "in_the_past", "the proposed time has passed")
            booking = await self._insert(
                request.mentee_id,
                profile,
                request.proposed_start,
                request.topic,
                request.agenda,
                False,
            )
        async with self.db.write() as s:
            stored = await s.get(BookingRequest, request_id)
            assert stored is not None
            stored.status = "accepted" if accept else "declined"
            stored.note = note.strip()
            stored.decided_at = self.clock()
            stored.booking_id = booking.id if booking else None
            request = stored
        return request, booking


def bookings_ahead(user_id: int, now: datetime) -> Select[tuple[Booking]]:
    """The user's bookings that have not started (pending payment or confirmed), soonest first:
    what suspending the user cancels."""
    return (
        select(Booking)
        .where(
            or_(Booking.mentor_id == user_id, Booking.mentee_id == user_id),
            Booking.status.in_(CANCELLABLE),
            Booking.starts_at > now,
        )
        .order_by(Booking.starts_at)
    )


def policy_refund(booking: Booking, user_id: int, now: datetime) -> int:
    """What the mentee gets back if participant `user_id` cancels the booking now."""
    role = booking.role_of(user_id)
    paid = booking.paid_paise if booking.money_state == "held" else 0
    return cancellation_refund(
        paid,
        starts_at=booking.starts_at,
        cancelled_at=now,
        cancelled_by=role,  # type: ignore[arg-type]
    )


def cancel_as(
    s: AsyncSession,
    booking: Booking,
    user_id: int,
    reason: str,
    now: datetime,
    *,
    suspended: bool = False,
) -> None:
    """Cancels a cancellable booking as its participant `user_id`: the policy's refund for
    their role, and the booking_cancelled event that tells both sides (why, when an
    administrator suspended that participant)."""
    role = booking.role_of(user_id)
    assert role is not None and booking.status in CANCELLABLE
    booking.refund_paise = policy_refund(booking, user_id, now)
    booking.status = "cancelled"
    booking.cancelled_at = now
    booking.cancelled_by = role
    booking.cancel_reason = reason.strip()
    extra = {"suspended": True} if suspended else {}
    events.record(s, "booking_cancelled", booking.id, now, actor_id=user_id, **extra)


class Checkout(Protocol):
    """What booking needs of payments: an order for a new booking (the JSON the client pays
    with; raises billing.gateway.GatewayError when the gateway is down) and the refund a
    cancellation gives. The payments domain provides it; app.py wires it in."""

    async def checkout(self, booking: Booking) -> dict[str, Any]: ...

    async def cancelled(self, booking_id: int, refund_paise: int) -> None: ...


BOOKINGS = web.AppKey("bookings", Bookings)


class Sponsorship(Protocol):
    """What booking needs of free calls and credits: `check` refuses (a 409 ApiError) a mentee
    who cannot use one now; `cover` pays the new booking from their sponsor and confirms it,
    answering what the client shows next. The credits domain provides it."""

    async def check(self, user: User) -> None: ...

    async def cover(self, booking: Booking) -> dict[str, Any]: ...


CHECKOUT = web.AppKey("checkout", Checkout)
SPONSORSHIP = web.AppKey("sponsorship", Sponsorship)
JOIN_EARLY = web.AppKey("join_early", timedelta)
