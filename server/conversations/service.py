"""One conversation per booking, between its mentor and its mentee only. It opens when the
booking is confirmed and stays after the call. Its messages are the chat lines the call page
writes too (one history, not two)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, or_, select

from server.clock import Clock
from server.db.engine import Database
from server.db.models import Booking, ChatLine, ConversationRead, User
from server.http.errors import ApiError, too_many
from server.http.schema import BodyError, check_text

# A booking has a conversation once it was confirmed: these statuses, or a payment behind it.
OPEN_STATUSES = ("confirmed", "in_call", "completed", "no_show")
MAX_MESSAGE_CHARS = 1000


@dataclass(frozen=True)
class NewMessage:
    text: str = field(metadata={"min_length": 1, "max_length": MAX_MESSAGE_CHARS})


@dataclass(frozen=True)
class Summary:
    booking: Booking
    other: User
    last: ChatLine | None
    unread: int


def has_conversation(booking: Booking) -> bool:
    return booking.status in OPEN_STATUSES or booking.payment_id is not None


class Conversations:
    def __init__(self, db: Database, *, clock: Clock, messages_per_minute: int = 30) -> None:
        self.db = db
        self.clock = clock
        self.messages_per_minute = messages_per_minute

    async def visible(self, user: User, booking_id: int) -> Booking:
        """The booking whose conversation `user` takes part in; 404 for anyone else, and for
        a booking that never got one (the same answer: nothing is confirmed)."""
        async with self.db.read() as s:
            booking = await s.get(Booking, booking_id)
        if booking is None or booking.role_of(user.id) is None or not has_conversation(booking):
            raise ApiError(404, "not_found", "no such conversation")
        return booking

    async def of_user(self, user: User) -> list[Summary]:
        """The user's conversations, the most recently active first."""
        async with self.db.read() as s:
            bookings = (
                await s.scalars(
                    select(Booking).where(
                        or_(Booking.mentor_id == user.id, Booking.mentee_id == user.id)
                    )
                )
            ).all()
            found = []
            for booking in (b for b in bookings if has_conversation(b)):
                other = await s.get(User, booking.other_than(user.id))
                last = await s.scalar(
                    select(ChatLine)
                    .where(ChatLine.booking_id == booking.id)
                    .order_by(ChatLine.id.desc())
                    .limit(1)
                )
                unread = await self._unread(s, booking.id, user.id)
                if other is not None:
                    found.append(Summary(booking, other, last, unread))
        return sorted(
            found,
            key=lambda c: c.last.at if c.last else c.booking.starts_at,
            reverse=True,
        )

    async def _unread(self, s: Any, booking_id: int, user_id: int) -> int:
        read = await s.get(ConversationRead, (booking_id, user_id))
        count = await s.scalar(
            select(func.count()).where(
                ChatLine.booking_id == booking_id,
                ChatLine.sender_id != user_id,
                ChatLine.id > (read.last_read_id if read else 0),
            )
        )
        return int(count or 0)

    async def other_of(self, booking: Booking, user: User) -> User | None:
        """The participant who is not `user`."""
        async with self.db.read() as s:
            return await s.get(User, booking.other_than(user.id))

    async def messages(
        self, booking: Booking, *, before: int | None, limit: int
    ) -> tuple[list[ChatLine], bool]:
        """Up to `limit` messages of a `visible` booking before the id `before` (or the
        newest), oldest first, and whether there are older ones."""
        async with self.db.read() as s:
            query = select(ChatLine).where(ChatLine.booking_id == booking.id)
            if before is not None:
                query = query.where(ChatLine.id < before)
            rows = (await s.scalars(query.order_by(ChatLine.id.desc()).limit(limit + 1))).all()
        return list(reversed(rows[:limit])), len(rows) > limit

    async def send(self, user: User, booking: Booking, text: str) -> ChatLine:
        """Writes `user`'s message into a `visible` booking's conversation."""
        text = text.strip()
        try:
            check_text(text, "text")
        except BodyError as exc:
            raise ApiError(400, "invalid_field", exc.message, exc.field) from None
        if not text:
            raise ApiError(400, "invalid_field", "must not be blank", "text")
        now = self.clock()
        async with self.db.write() as s:
            await self._check_rate(s, user.id, now)
            line = ChatLine(booking_id=booking.id, sender_id=user.id, text=text, at=now)
            s.add(line)
            await s.flush()
        await self.mark_read(user, booking.id)  # what you wrote, you have read
        return line

    async def _check_rate(self, s: Any, user_id: int, now: datetime) -> None:
        since = now - timedelta(minutes=1)
        count, oldest = (
            await s.execute(
                select(func.count(), func.min(ChatLine.at)).where(
                    ChatLine.sender_id == user_id, ChatLine.at > since
                )
            )
        ).one()
        if count >= self.messages_per_minute:
            wait = math.ceil((oldest - since).total_seconds())
            raise too_many(wait, f"at most {self.messages_per_minute} messages a minute")

    async def mark_read(self, user: User, booking_id: int) -> None:
        """Everything in the conversation up to now counts as read by `user`."""
        async with self.db.write() as s:
            newest = await s.scalar(
                select(func.max(ChatLine.id)).where(ChatLine.booking_id == booking_id)
            )
            read = await s.get(ConversationRead, (booking_id, user.id))
            if read is None:
                read = ConversationRead(booking_id=booking_id, user_id=user.id, last_read_id=0)
                s.add(read)
            read.last_read_id = max(read.last_read_id, int(newest or 0))

    async def read_by_other(self, booking: Booking, user: User) -> int:
        """The id up to which the other participant has read (for "seen" marks)."""
        async with self.db.read() as s:
            read = await s.get(ConversationRead, (booking.id, booking.other_than(user.id)))
        return read.last_read_id if read else 0


CONVERSATIONS = web.AppKey("conversations", Conversations)
