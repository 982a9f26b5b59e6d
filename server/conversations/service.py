"""One conversation per booking, between its mentor and its mentee only. It opens when the
booking is confirmed and stays after the call. Its messages are the chat lines the call page
writes too (one history, not two).

A message is written in one transaction with what it causes: the sender's read mark, the
file sent with it, and the unread-message digest job for the other side. The live sockets
hear of it after the commit."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.clock import Clock
from server.conversations.attachments import Upload
from server.conversations.shapes import Posted, Summary, message_json
from server.db.engine import Database
from server.db.models import Attachment, Booking, ChatLine, ConversationRead, Job, User
from server.http.errors import ApiError, too_many
from server.http.schema import BodyError, check_text
from server.live import LiveHub

# A booking has a conversation once it was confirmed: these statuses, or a payment behind it.
OPEN_STATUSES = ("confirmed", "in_call", "completed", "no_show")
MAX_MESSAGE_CHARS = 5000
DIGEST_JOB = "message_digest"


@dataclass(frozen=True)
class NewMessage:
    text: str = field(metadata={"min_length": 1, "max_length": MAX_MESSAGE_CHARS})


def has_conversation(booking: Booking) -> bool:
    return booking.status in OPEN_STATUSES or booking.payment_id is not None


def digest_key(user_id: int, line_id: int) -> str:
    return f"{DIGEST_JOB}:{user_id}:{line_id}"


class Conversations:
    def __init__(
        self,
        db: Database,
        *,
        clock: Clock,
        files: Path,
        digest_after: timedelta = timedelta(minutes=30),
        messages_per_minute: int = 30,
        live: LiveHub | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.files = files
        self.digest_after = digest_after
        self.messages_per_minute = messages_per_minute
        self.live = live or LiveHub()
        files.mkdir(parents=True, exist_ok=True)

    # -- who may see what ------------------------------------------------------------------------

    async def visible(self, user: User, booking_id: int) -> Booking:
        """The booking whose conversation `user` takes part in; 404 for anyone else, and for
        a booking that never got one (the same answer: nothing is confirmed)."""
        async with self.db.read() as s:
            booking = await s.get(Booking, booking_id)
        if booking is None or booking.role_of(user.id) is None or not has_conversation(booking):
            raise ApiError(404, "not_found", "no such conversation")
        return booking

    async def other_of(self, booking: Booking, user: User) -> User | None:
        """The participant who is not `user`."""
        async with self.db.read() as s:
            return await s.get(User, booking.other_than(user.id))

    # -- reading ---------------------------------------------------------------------------------

    async def of_user(self, user: User) -> list[Summary]:
        """The user's conversations, the most recently active first."""
        async with self.db.read() as s:
            mine = or_(Booking.mentor_id == user.id, Booking.mentee_id == user.id)
            bookings = [
                b for b in (await s.scalars(select(Booking).where(mine))) if has_conversation(b)
            ]
            ids = [b.id for b in bookings]
            newest = select(func.max(ChatLine.id)).where(ChatLine.booking_id.in_(ids))
            lines = {
                line.booking_id: line
                for line in await s.scalars(
                    select(ChatLine).where(
                        ChatLine.id.in_(newest.group_by(ChatLine.booking_id).scalar_subquery())
                    )
                )
            }
            files = await self._attachments(s, [line.id for line in lines.values()])
            others = {
                u.id: u
                for u in await s.scalars(
                    select(User).where(User.id.in_({b.other_than(user.id) for b in bookings}))
                )
            }
            unread = await self._unread(s, user.id, ids)
        found = [
            Summary(
                b,
                others[b.other_than(user.id)],
                Posted(lines[b.id], files.get(lines[b.id].id)) if b.id in lines else None,
                unread.get(b.id, 0),
            )
            for b in bookings
            if b.other_than(user.id) in others
        ]
        return sorted(
            found, key=lambda c: c.last.line.at if c.last else c.booking.starts_at, reverse=True
        )

    async def messages(
        self, booking: Booking, *, before: int | None, limit: int
    ) -> tuple[list[Posted], bool]:
        """Up to `limit` messages of a `visible` booking before the id `before` (or the
        newest), oldest first, and whether there are older ones."""
        async with self.db.read() as s:
            query = select(ChatLine).where(ChatLine.booking_id == booking.id)
            if before is not None:
                query = query.where(ChatLine.id < before)
            rows = (await s.scalars(query.order_by(ChatLine.id.desc()).limit(limit + 1))).all()
            shown = list(reversed(rows[:limit]))
            files = await self._attachments(s, [line.id for line in shown])
        return [Posted(line, files.get(line.id)) for line in shown], len(rows) > limit

    async def _attachments(self, s: AsyncSession, line_ids: list[int]) -> dict[int, Attachment]:
        if not line_ids:
            return {}
        rows = await s.scalars(select(Attachment).where(Attachment.line_id.in_(line_ids)))
        return {a.line_id: a for a in rows}

    async def attachment(
        self, user: User, booking_id: int, attachment_id: int
    ) -> tuple[Attachment, Path]:
        """A file of a conversation `user` takes part in, and where it is; 404 otherwise."""
        await self.visible(user, booking_id)
        async with self.db.read() as s:
            found = await s.get(Attachment, attachment_id)
        path = self.files / str(booking_id) / found.stored_as if found else None
        if found is None or found.booking_id != booking_id or path is None or not path.is_file():
            raise ApiError(404, "not_found", "no such attachment")
        return found, path

    async def read_by_other(self, booking: Booking, user: User) -> int:
        """The id up to which the other participant has read (for "seen" marks)."""
        async with self.db.read() as s:
            read = await s.get(ConversationRead, (booking.id, booking.other_than(user.id)))
        return read.last_read_id if read else 0

    async def unread_counts(self, user_id: int) -> dict[str, int]:
        """What a live socket is told when it opens."""
        return {"messages": await self.unread_total(user_id)}

    async def unread_total(self, user_id: int) -> int:
        async with self.db.read() as s:
            return sum((await self._unread(s, user_id)).values())

    async def _unread(
        self, s: AsyncSession, user_id: int, booking_ids: Iterable[int] | None = None
    ) -> dict[int, int]:
        """Unread messages per conversation of `user_id` (all of them, or those given)."""
        query = (
            select(ChatLine.booking_id, func.count())
            .join(Booking, Booking.id == ChatLine.booking_id)
            .outerjoin(
                ConversationRead,
                and_(
                    ConversationRead.booking_id == ChatLine.booking_id,
                    ConversationRead.user_id == user_id,
                ),
            )
            .where(
                or_(Booking.mentor_id == user_id, Booking.mentee_id == user_id),
                ChatLine.sender_id != user_id,
                ChatLine.id > func.coalesce(ConversationRead.last_read_id, 0),
            )
            .group_by(ChatLine.booking_id)
        )
        if booking_ids is not None:
            query = query.where(ChatLine.booking_id.in_(list(booking_ids)))
        return {booking_id: int(count) for booking_id, count in await s.execute(query)}

    # -- writing ---------------------------------------------------------------------------------

    async def send(
        self,
        user: User,
        booking: Booking,
        text: str,
        upload: Upload | None = None,
        *,
        drafted_by_assistant: bool = False,
    ) -> Posted:
        """Writes `user`'s message (and file) into a `visible` booking's conversation;
        `drafted_by_assistant` marks text the sender accepted from the assistant's draft."""
        text = text.strip()
        try:
            check_text(text, "text")
        except BodyError as exc:
            raise ApiError(400, "invalid_field", exc.message, exc.field) from None
        if not text and upload is None:
            raise ApiError(400, "invalid_field", "must not be blank", "text")
        if len(text) > MAX_MESSAGE_CHARS:
            raise ApiError(
                400, "invalid_field", f"must be at most {MAX_MESSAGE_CHARS} characters", "text"
            )
        return await self._post(
            booking,
            user.id,
            text,
            self.clock(),
            upload=upload,
            limit=True,
            drafted_by_assistant=drafted_by_assistant,
        )

    async def save_chat(self, room_id: str, role: str, text: str, at: datetime) -> None:
        """A line typed in the call (the call socket has its own rate limit)."""
        async with self.db.read() as s:
            booking = await s.get(Booking, int(room_id))
        if booking is not None:
            sender = booking.mentor_id if role == "mentor" else booking.mentee_id
            await self._post(booking, sender, text, at, upload=None, limit=False)

    async def _post(
        self,
        booking: Booking,
        sender_id: int,
        text: str,
        at: datetime,
        *,
        upload: Upload | None,
        limit: bool,
        drafted_by_assistant: bool = False,
    ) -> Posted:
        kept: Path | None = None
        try:
            async with self.db.write() as s:
                if limit:
                    await self._check_rate(s, sender_id, at)
                line = ChatLine(
                    booking_id=booking.id,
                    sender_id=sender_id,
                    text=text,
                    at=at,
                    drafted_by_assistant=drafted_by_assistant,
                )
                s.add(line)
                await s.flush()
                attachment = None
                if upload is not None:
                    directory = self.files / str(booking.id)
                    stored = upload.keep(directory)
                    kept = directory / stored
                    attachment = Attachment(
                        line_id=line.id,
                        booking_id=booking.id,
                        name=upload.name,
                        content_type=upload.content_type,
                        size=upload.size,
                        sha256=upload.sha256,
                        stored_as=stored,
                    )
                    s.add(attachment)
                await self._read_up_to(s, booking.id, sender_id, line.id)
                reader = booking.other_than(sender_id)
                await self._schedule_digest(s, reader, line)
                # The reader's new counts, read here rather than in a transaction of their own.
                counts = await self._unread(s, reader) if self.live.online(reader) else None
        except BaseException:
            if kept is not None:  # the row never committed: no file without its message
                kept.unlink(missing_ok=True)
            raise
        posted = Posted(line, attachment)
        message = message_json(posted, booking)
        event = {"type": "message", "booking_id": booking.id, "message": message}
        await self.live.publish([booking.mentor_id, booking.mentee_id], event)
        if counts is not None:
            await self.live.publish([reader], _unread_event(counts, booking.id))
        return posted

    async def _check_rate(self, s: AsyncSession, user_id: int, now: datetime) -> None:
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

    async def _read_up_to(
        self, s: AsyncSession, booking_id: int, user_id: int, line_id: int
    ) -> None:
        read = await s.get(ConversationRead, (booking_id, user_id))
        if read is None:
            read = ConversationRead(
                booking_id=booking_id, user_id=user_id, last_read_id=0, mailed_up_to=0
            )
            s.add(read)
        read.last_read_id = max(read.last_read_id, line_id)

    async def _schedule_digest(self, s: AsyncSession, recipient_id: int, line: ChatLine) -> None:
        """One pending digest job per recipient: the notifications worker mails what is still
        unread when it comes due, and plans the next one itself."""
        pending = await s.scalar(
            select(Job.id)
            .where(
                Job.kind == DIGEST_JOB,
                Job.subject_id == recipient_id,
                Job.done_at.is_(None),
                Job.cancelled_at.is_(None),
            )
            .limit(1)
        )
        if pending is None:
            s.add(
                Job(
                    kind=DIGEST_JOB,
                    key=digest_key(recipient_id, line.id),
                    subject_id=recipient_id,
                    due_at=line.at + self.digest_after,
                )
            )

    async def mark_read(self, user: User, booking: Booking) -> int:
        """Everything in the conversation up to now counts as read by `user`; the other side
        hears of it. Returns the newest message id read."""
        async with self.db.write() as s:
            newest = await s.scalar(
                select(func.max(ChatLine.id)).where(ChatLine.booking_id == booking.id)
            )
            before = await s.get(ConversationRead, (booking.id, user.id))
            was = before.last_read_id if before else 0
            await self._read_up_to(s, booking.id, user.id, int(newest or 0))
        if newest and newest > was:
            other = booking.other_than(user.id)
            await self.live.publish(
                [other], {"type": "read", "booking_id": booking.id, "up_to": newest}
            )
            await self._announce_unread(user.id, booking.id)
        return int(newest or 0)

    # -- live ------------------------------------------------------------------------------------

    async def _announce_unread(self, user_id: int, booking_id: int) -> None:
        if not self.live.online(user_id):
            return
        async with self.db.read() as s:
            counts = await self._unread(s, user_id)
        await self.live.publish([user_id], _unread_event(counts, booking_id))


def _unread_event(counts: dict[int, int], booking_id: int) -> dict[str, Any]:
    return {
        "type": "unread",
        "messages": sum(counts.values()),
        "booking_id": booking_id,
        "conversation": counts.get(booking_id, 0),
    }


CONVERSATIONS = web.AppKey("conversations", Conversations)
