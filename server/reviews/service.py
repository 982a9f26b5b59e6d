"""Reviews: written, edited, replied to, reported and moderated; the rating figures.

The rules: the booking's mentee rates a completed call once (1 to 5 stars, optional text) and
may edit the review for 7 days; the mentor replies once and cannot delete; anyone logged in
reports a review once; an administrator hides or keeps it, which closes its open reports and
writes the audit log. A hidden review leaves the public page and every average."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from server.clock import Clock
from server.db import audit, events
from server.db.engine import Database
from server.db.models import Booking, ChatLine, MentorProfile, Review, ReviewReport, User
from server.http.errors import ApiError
from server.reviews.shapes import EDIT_WINDOW, ReviewFields, public_name
from server.reviews.stats import Line, Rating, repeat_rate, reply_seconds

# The typical reply time looks at this much of the mentor's recent conversations.
REPLY_WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class Posted:
    """A review with its author's name."""

    review: Review
    author: str

    @property
    def shown_name(self) -> str:
        return public_name(self.author)


@dataclass(frozen=True)
class Reported:
    """A review waiting for moderation, with its open reports and their reporters' names."""

    review: Review
    author: str
    mentor: str
    reports: list[tuple[ReviewReport, str]]


@dataclass(frozen=True)
class Draft:
    """What the mentee's review page shows: the call, its mentor, and the review so far."""

    booking: Booking
    mentor: str
    review: Review | None


@dataclass(frozen=True)
class MentorStats:
    """The mentor page's stats bar (PRD 7.2)."""

    calls_completed: int
    rating: Rating
    repeat_rate: float | None
    reply_seconds: float | None


async def ratings(s: AsyncSession, mentor_ids: Collection[int] | None = None) -> dict[int, Rating]:
    """The visible ratings per mentor (every rated mentor when `mentor_ids` is None)."""
    stmt = (
        select(Review.mentor_id, func.count(), func.sum(Review.rating))
        .where(Review.hidden_at.is_(None))
        .group_by(Review.mentor_id)
    )
    if mentor_ids is not None:
        stmt = stmt.where(Review.mentor_id.in_(mentor_ids))
    rows = (await s.execute(stmt)).all()
    return {mentor: Rating(int(count), int(total or 0)) for mentor, count, total in rows}


class Reviews:
    def __init__(self, db: Database, *, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # -- the mentee's review ---------------------------------------------------------------------

    async def write(self, user: User, booking_id: int, fields: ReviewFields) -> Review:
        now = self.clock()
        try:
            async with self.db.write() as s:
                booking = await _mentees_booking(s, user, booking_id)
                if booking.status != "completed":
                    raise ApiError(
                        409, "not_completed", "a call can be rated once it has been completed"
                    )
                if await _of_booking(s, booking_id) is not None:
                    raise _already_reviewed()
                review = Review(
                    booking_id=booking.id,
                    mentor_id=booking.mentor_id,
                    mentee_id=booking.mentee_id,
                    rating=fields.rating,
                    text=fields.text.strip(),
                    created_at=now,
                    reply="",
                    hidden_note="",
                )
                s.add(review)
                await s.flush()
                events.record(s, "review_written", review.id, now, actor_id=user.id)
        except IntegrityError:  # a concurrent review of the same booking won
            raise _already_reviewed() from None
        return review

    async def edit(self, user: User, booking_id: int, fields: ReviewFields) -> Review:
        now = self.clock()
        async with self.db.write() as s:
            await _mentees_booking(s, user, booking_id)
            review = await _of_booking(s, booking_id)
            if review is None:
                raise ApiError(404, "not_found", "this call has no review yet; write one first")
            if review.hidden_at is not None:
                raise ApiError(409, "review_hidden", "a moderator hid this review; it is closed")
            if not self.editable(review):
                written = review.created_at.strftime("%d %b %Y")
                raise ApiError(
                    409,
                    "edit_window_closed",
                    f"a review can be edited for 7 days after it was written ({written})",
                )
            review.rating, review.text, review.edited_at = fields.rating, fields.text.strip(), now
        return review

    def editable(self, review: Review) -> bool:
        return review.hidden_at is None and self.clock() <= review.created_at + EDIT_WINDOW

    # -- the mentor's reply, reports and moderation ---------------------------------------------

    async def reply(self, user: User, review_id: int, text: str) -> Posted:
        text = text.strip()
        if not text:
            raise ApiError(400, "invalid_field", "must not be empty", "text")
        async with self.db.write() as s:
            review = await _visible(s, review_id)
            if review.mentor_id != user.id:
                raise ApiError(403, "not_the_mentor", "only the reviewed mentor can reply")
            if review.replied_at is not None:
                raise ApiError(409, "already_replied", "you have replied to this review already")
            review.reply, review.replied_at = text, self.clock()
            return Posted(review, await _name(s, review.mentee_id))

    async def report(self, user: User, review_id: int, reason: str) -> ReviewReport:
        try:
            async with self.db.write() as s:
                await _visible(s, review_id)
                if await s.scalar(
                    select(ReviewReport.id).where(
                        ReviewReport.review_id == review_id, ReviewReport.reporter_id == user.id
                    )
                ):
                    raise _already_reported()
                report = ReviewReport(
                    review_id=review_id,
                    reporter_id=user.id,
                    reason=reason.strip(),
                    created_at=self.clock(),
                    note="",
                )
                s.add(report)
                await s.flush()
        except IntegrityError:  # the same reporter, twice at once
            raise _already_reported() from None
        return report

    async def moderate(self, admin: User, review_id: int, hide: bool, note: str) -> Posted:
        """Hides the review or keeps it (showing it again if it was hidden), closes its open
        reports, and records the decision in the audit log, in one transaction."""
        now, note = self.clock(), note.strip()
        async with self.db.write() as s:
            review = await s.get(Review, review_id)
            if review is None:
                raise ApiError(404, "not_found", "no such review")
            reports = list(
                await s.scalars(
                    select(ReviewReport).where(
                        ReviewReport.review_id == review_id, ReviewReport.decided_at.is_(None)
                    )
                )
            )
            before = {
                "hidden": review.hidden_at is not None,
                "hidden_note": review.hidden_note,
                "open_reports": len(reports),
            }
            if hide:
                review.hidden_at, review.hidden_note = review.hidden_at or now, note
            else:
                review.hidden_at, review.hidden_note = None, ""
            for report in reports:
                report.decided_at, report.decided_by = now, admin.id
                report.decision, report.note = ("hide" if hide else "keep"), note
            after = {"hidden": hide, "hidden_note": review.hidden_note, "open_reports": 0}
            action = "review_hidden" if hide else "review_kept"
            audit.record(
                s,
                admin.id,
                action,
                ("review", review.id),
                now,
                before=before,
                after=after,
                note=note,
            )
            return Posted(review, await _name(s, review.mentee_id))

    # -- reading ----------------------------------------------------------------------------------

    async def public(
        self, mentor_id: int, page: int = 1, per_page: int = 10
    ) -> tuple[list[Posted], int]:
        """A mentor's visible reviews, newest first, and how many there are."""
        visible = (Review.mentor_id == mentor_id, Review.hidden_at.is_(None))
        async with self.db.read() as s:
            total = int(await s.scalar(select(func.count()).where(*visible)) or 0)
            rows = await s.execute(
                select(Review, User.name)
                .join(User, User.id == Review.mentee_id)
                .where(*visible)
                .order_by(Review.created_at.desc(), Review.id.desc())
                .offset((page - 1) * per_page)
                .limit(per_page)
            )
            return [Posted(r, name) for r, name in rows.all()], total

    async def listed(self, mentor_id: int) -> bool:
        """Whether this mentor is listed (approved), so that their reviews are public."""
        async with self.db.read() as s:
            profile = await s.get(MentorProfile, mentor_id)
        return profile is not None and profile.status == "approved"

    async def get(self, review_id: int) -> Review | None:
        async with self.db.read() as s:
            return await s.get(Review, review_id)

    async def of_booking(self, user: User, booking_id: int) -> Posted:
        """A booking's review, to its mentee, its mentor and administrators."""
        async with self.db.read() as s:
            booking = await s.get(Booking, booking_id)
            if booking is None or (booking.role_of(user.id) is None and not user.is_admin):
                raise ApiError(404, "not_found", "no such booking")
            review = await _of_booking(s, booking_id)
            if review is None:
                raise ApiError(404, "not_found", "this call has no review yet")
            return Posted(review, await _name(s, review.mentee_id))

    async def draft(self, user: User, booking_id: int) -> Draft:
        """The booking the mentee rates (404 to strangers, 403 to its mentor), with its review."""
        async with self.db.read() as s:
            booking = await _mentees_booking(s, user, booking_id)
            review = await _of_booking(s, booking_id)
            return Draft(booking, await _name(s, booking.mentor_id), review)

    async def of_bookings(self, booking_ids: Collection[int]) -> dict[int, Review]:
        if not booking_ids:
            return {}
        async with self.db.read() as s:
            rows = await s.scalars(select(Review).where(Review.booking_id.in_(booking_ids)))
            return {r.booking_id: r for r in rows}

    async def reported(self, page: int = 1, per_page: int = 50) -> tuple[list[Reported], int]:
        """Reviews with open reports, the longest waiting first."""
        waiting = (
            select(ReviewReport.review_id, func.min(ReviewReport.created_at).label("first"))
            .where(ReviewReport.decided_at.is_(None))
            .group_by(ReviewReport.review_id)
            .subquery()
        )
        mentee, mentor = aliased(User), aliased(User)
        async with self.db.read() as s:
            total = int(await s.scalar(select(func.count()).select_from(waiting)) or 0)
            rows = (
                await s.execute(
                    select(Review, mentee.name, mentor.name)
                    .join(waiting, waiting.c.review_id == Review.id)
                    .join(mentee, mentee.id == Review.mentee_id)
                    .join(mentor, mentor.id == Review.mentor_id)
                    .order_by(waiting.c.first, Review.id)
                    .offset((page - 1) * per_page)
                    .limit(per_page)
                )
            ).all()
            found = []
            for review, author, mentor_name in rows:
                reports = await s.execute(
                    select(ReviewReport, User.name)
                    .join(User, User.id == ReviewReport.reporter_id)
                    .where(ReviewReport.review_id == review.id, ReviewReport.decided_at.is_(None))
                    .order_by(ReviewReport.id)
                )
                found.append(Reported(review, author, mentor_name, [(r, n) for r, n in reports]))
        return found, total

    async def stats(self, mentor_id: int) -> MentorStats:
        since = self.clock() - REPLY_WINDOW
        async with self.db.read() as s:
            per_mentee = (
                await s.execute(
                    select(Booking.mentee_id, func.count())
                    .where(Booking.mentor_id == mentor_id, Booking.status == "completed")
                    .group_by(Booking.mentee_id)
                )
            ).all()
            rating = (await ratings(s, [mentor_id])).get(mentor_id, Rating())
            lines = (
                await s.execute(
                    select(ChatLine.booking_id, ChatLine.sender_id, ChatLine.at)
                    .join(Booking, Booking.id == ChatLine.booking_id)
                    .where(Booking.mentor_id == mentor_id, ChatLine.at >= since)
                    .order_by(ChatLine.at, ChatLine.id)
                )
            ).all()
        counts = [int(n) for _mentee, n in per_mentee]
        return MentorStats(
            calls_completed=sum(counts),
            rating=rating,
            repeat_rate=repeat_rate(counts),
            reply_seconds=reply_seconds([Line(b, who == mentor_id, at) for b, who, at in lines]),
        )


async def _mentees_booking(s: AsyncSession, user: User, booking_id: int) -> Booking:
    booking = await s.get(Booking, booking_id)
    if booking is None or booking.role_of(user.id) is None:
        raise ApiError(404, "not_found", "no such booking")
    if booking.mentee_id != user.id:
        raise ApiError(403, "not_the_mentee", "only the call's mentee can rate it")
    return booking


async def _of_booking(s: AsyncSession, booking_id: int) -> Review | None:
    review: Review | None = await s.scalar(select(Review).where(Review.booking_id == booking_id))
    return review


async def _name(s: AsyncSession, user_id: int) -> str:
    user = await s.get(User, user_id)
    return user.name if user else ""


async def _visible(s: AsyncSession, review_id: int) -> Review:
    review = await s.get(Review, review_id)
    if review is None or review.hidden_at is not None:
        raise ApiError(404, "not_found", "no such review")
    return review


def _already_reviewed() -> ApiError:
    return ApiError(409, "already_reviewed", "this call has a review; edit it instead")


def _already_reported() -> ApiError:
    return ApiError(409, "already_reported", "you have reported this review already")


REVIEWS = web.AppKey("reviews", Reviews)
