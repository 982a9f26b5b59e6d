"""The notifications worker: turns domain events into in-app notifications and outbox mail,
runs due reminders from the jobs table, and hands the outbox to the mailer.

Every step is a database transaction that also marks its input done (the event handled, the
job done), so a crash repeats a step instead of losing or doubling it. Rows are claimed with
FOR UPDATE SKIP LOCKED where the database has it (PostgreSQL), so several workers would not
share one. Sending is at least once: a crash between the SMTP server's "OK" and the commit
sends that mail again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from server.booking.invites import invite
from server.clock import Clock
from server.config import NotificationSettings
from server.conversations.service import DIGEST_JOB, digest_key
from server.db.engine import Database, log_failure
from server.db.models import (
    Booking,
    ChatLine,
    ConversationRead,
    Dispute,
    DomainEvent,
    EmailOptOut,
    Job,
    MentorProfile,
    Notification,
    OutboxMail,
    Payout,
    Review,
    User,
)
from server.live import LiveHub
from server.notifications import messages
from server.notifications.messages import Message, Unread

log = logging.getLogger("micromentor.notifications")
Send = Callable[[EmailMessage], Awaitable[None]]
BATCH = 50
CLAIM = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)


class Notifications:
    def __init__(
        self,
        db: Database,
        settings: NotificationSettings,
        *,
        clock: Clock,
        base_url: str,
        sender: str,
        unsubscribe_key: bytes,
        send: Send | None = None,
        live: LiveHub | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.base_url = base_url.rstrip("/")
        self.sender = sender
        self.unsubscribe_key = unsubscribe_key
        self.send = send  # None: no SMTP server; mail waits in the outbox
        self.live = live or LiveHub()

    # -- the worker ------------------------------------------------------------------------------

    async def tick(self) -> None:
        await self.handle_events()
        await self.run_due_jobs()
        await self.deliver()

    async def run(self, stop: asyncio.Event) -> None:
        """A round every [notifications] poll_seconds until `stop` is set, the first one after
        the first wait (so a process that starts does not race the one it replaces); a round
        in progress finishes first."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.poll_seconds)
            if stop.is_set():
                break
            try:
                await self.tick()
            except Exception as exc:
                log_failure(log, "notifications: a round failed; the next one retries", exc)

    # -- events -> notifications, mail, reminders --------------------------------------------------

    async def handle_events(self) -> int:
        told: set[int] = set()
        async with self.db.write() as s:
            events = (
                await s.scalars(
                    select(DomainEvent)
                    .where(DomainEvent.handled_at.is_(None))
                    .order_by(DomainEvent.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for event in events:
                for message in await self._messages_for(s, event):
                    await self._add(s, message, told)
                event.handled_at = self.clock()
        await self._announce(told)
        return len(events)

    async def _messages_for(self, s: AsyncSession, event: DomainEvent) -> list[Message]:
        if event.kind == "booking_confirmed":
            booking, mentor, mentee = await self._booking(s, event.subject_id)
            if booking is None or mentor is None or mentee is None:
                return []
            await self._schedule_reminder(s, booking)
            ics = invite(booking, mentor, mentee, base_url=self.base_url, addresses=False)
            return messages.booking_confirmed(
                booking_id=booking.id,
                starts_at=booking.starts_at,
                topic=booking.topic,
                mentee_id=mentee.id,
                mentee_name=mentee.name,
                mentor_id=mentor.id,
                mentor_name=mentor.name,
                paid_paise=booking.paid_paise,
                invite=ics,
                sponsored=booking.sponsor_id is not None,
            )
        if event.kind == "booking_cancelled":
            booking, mentor, mentee = await self._booking(s, event.subject_id)
            if booking is None or mentor is None or mentee is None:
                return []
            await self._cancel_reminders(s, booking.id)
            if booking.paid_paise == 0:
                return []  # an unpaid hold let go: nobody was told it existed
            return messages.booking_cancelled(
                starts_at=booking.starts_at,
                canceller_id=event.actor_id or mentee.id,
                mentee_id=mentee.id,
                mentor_id=mentor.id,
                names={mentee.id: mentee.name, mentor.id: mentor.name},
                refund_paise=booking.refund_paise or 0,
                paid_paise=booking.paid_paise,
                suspended=bool(event.data.get("suspended")),
                sponsored=booking.sponsor_id is not None,
            )
        if event.kind == "booking_rescheduled":
            booking, mentor, mentee = await self._booking(s, event.subject_id)
            if booking is None or mentor is None or mentee is None:
                return []
            await self._cancel_reminders(s, booking.id)
            await self._schedule_reminder(s, booking)
            ics = invite(booking, mentor, mentee, base_url=self.base_url, addresses=False)
            return messages.booking_moved(
                booking_id=booking.id,
                starts_at=booking.starts_at,
                was=booking.rescheduled_from or booking.starts_at,
                names={mentee.id: mentee.name, mentor.id: mentor.name},
                mover_id=event.actor_id or mentee.id,
                invite=ics,
            )
        if event.kind == "application_decided":
            profile = await s.get(MentorProfile, event.subject_id)
            return messages.application_decided(
                mentor_id=event.subject_id,
                approved=bool(event.data.get("approved")),
                note=profile.review_note if profile else "",
            )
        if event.kind == "payout_settled":
            payout = await s.get(Payout, event.subject_id)
            if payout is None:
                return []
            return messages.payout_settled(
                mentor_id=payout.mentor_id,
                paid=bool(event.data.get("paid")),
                net_paise=payout.amount_paise - payout.tds_paise,
                reference=payout.reference,
            )
        if event.kind in ("dispute_opened", "dispute_decided"):
            return await self._dispute(s, event)
        if event.kind == "call_completed":
            booking, mentor, mentee = await self._booking(s, event.subject_id)
            if booking is None or mentor is None or mentee is None:
                return []
            return messages.review_requested(
                booking_id=booking.id, mentee_id=mentee.id, mentor_name=mentor.name
            )
        if event.kind == "review_written":
            review = await s.get(Review, event.subject_id)
            author = await s.get(User, review.mentee_id) if review else None
            if review is None or author is None:
                return []
            return messages.review_written(
                mentor_id=review.mentor_id,
                review_id=review.id,
                rating=review.rating,
                mentee_name=author.name,
            )
        if event.kind == "community_hidden":
            data = event.data
            return messages.community_hidden(
                author_id=int(data["author_id"]),
                what=str(data["what"]),
                title=str(data["title"]),
                note=str(data["note"]),
            )
        return []

    async def _dispute(self, s: AsyncSession, event: DomainEvent) -> list[Message]:
        dispute = await s.get(Dispute, event.subject_id)
        booking, mentor, mentee = await self._booking(s, dispute.booking_id if dispute else 0)
        if dispute is None or booking is None or mentor is None or mentee is None:
            return []
        names = {mentee.id: mentee.name, mentor.id: mentor.name}
        if event.kind == "dispute_opened":
            return messages.dispute_opened(
                booking_id=booking.id,
                starts_at=booking.starts_at,
                mentee_id=mentee.id,
                mentor_id=mentor.id,
                names=names,
            )
        return messages.dispute_decided(
            booking_id=booking.id,
            starts_at=booking.starts_at,
            mentee_id=mentee.id,
            mentor_id=mentor.id,
            names=names,
            refund_paise=int(event.data.get("refund_paise", 0)),
            mentor_paise=int(event.data.get("mentor_paise", 0)),
            note=dispute.note,
        )

    async def _booking(
        self, s: AsyncSession, booking_id: int
    ) -> tuple[Booking | None, User | None, User | None]:
        booking = await s.get(Booking, booking_id)
        if booking is None:
            return None, None, None
        return booking, await s.get(User, booking.mentor_id), await s.get(User, booking.mentee_id)

    async def _schedule_reminder(self, s: AsyncSession, booking: Booking) -> None:
        due = booking.starts_at - timedelta(minutes=self.settings.reminder_minutes)
        if due <= self.clock():
            return  # booked less than the reminder's lead ahead: the confirmation is enough
        key = reminder_key(booking.id, booking.starts_at)
        existing = await s.scalar(select(Job).where(Job.key == key))
        if existing is None:
            s.add(Job(kind="reminder", key=key, subject_id=booking.id, due_at=due))
        else:  # confirmed and moved in one round: the reminder for this start stands
            existing.cancelled_at = None

    async def _cancel_reminders(self, s: AsyncSession, booking_id: int) -> None:
        """A cancelled or moved booking's pending reminders will not be sent."""
        await s.execute(
            update(Job)
            .where(
                Job.kind == "reminder",
                Job.subject_id == booking_id,
                Job.done_at.is_(None),
                Job.cancelled_at.is_(None),
            )
            .values(cancelled_at=self.clock())
        )

    # -- due jobs ----------------------------------------------------------------------------------

    async def run_due_jobs(self) -> int:
        now = self.clock()
        told: set[int] = set()
        async with self.db.write() as s:
            jobs = (
                await s.scalars(
                    select(Job)
                    .where(
                        Job.done_at.is_(None),
                        Job.cancelled_at.is_(None),
                        Job.due_at <= now,
                        or_(Job.claimed_until.is_(None), Job.claimed_until < now),
                    )
                    .order_by(Job.due_at)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for job in jobs:
                if job.kind == "reminder":
                    found = await self._reminder(s, job.subject_id)
                elif job.kind == DIGEST_JOB:
                    found = await self._digest(s, job.subject_id)
                else:
                    found = []
                for message in found:
                    await self._add(s, message, told)
                job.done_at = now
        await self._announce(told)
        return len(jobs)

    async def _reminder(self, s: AsyncSession, booking_id: int) -> list[Message]:
        booking, mentor, mentee = await self._booking(s, booking_id)
        if booking is None or mentor is None or mentee is None:
            return []
        if booking.status != "confirmed" or booking.starts_at <= self.clock():
            return []  # cancelled, already in the call, or the moment has passed
        return messages.reminder(
            booking_id=booking.id,
            starts_at=booking.starts_at,
            minutes=self.settings.reminder_minutes,
            names={mentor.id: mentor.name, mentee.id: mentee.name},
        )

    async def _digest(self, s: AsyncSession, user_id: int) -> list[Message]:
        """The messages to `user_id` unread for [notifications] digest_minutes and not yet
        mailed, as one mail; the next digest is planned for the younger ones."""
        now = self.clock()
        wait = timedelta(minutes=self.settings.digest_minutes)
        read = aliased(ConversationRead)
        rows = (
            await s.execute(
                select(ChatLine, Booking, read)
                .join(Booking, Booking.id == ChatLine.booking_id)
                .outerjoin(read, and_(read.booking_id == Booking.id, read.user_id == user_id))
                .where(
                    or_(Booking.mentor_id == user_id, Booking.mentee_id == user_id),
                    ChatLine.sender_id != user_id,
                    ChatLine.id > func.coalesce(read.last_read_id, 0),
                    ChatLine.id > func.coalesce(read.mailed_up_to, 0),
                )
                .order_by(ChatLine.id)
            )
        ).all()
        due: dict[int, list[ChatLine]] = {}
        bookings: dict[int, tuple[Booking, ConversationRead | None]] = {}
        younger: ChatLine | None = None
        for line, booking, mark in rows:
            if line.at <= now - wait:
                due.setdefault(booking.id, []).append(line)
                bookings[booking.id] = (booking, mark)
            elif younger is None:
                younger = line
        key = digest_key(user_id, younger.id) if younger else ""
        if younger is not None and await s.scalar(select(Job.id).where(Job.key == key)) is None:
            s.add(Job(kind=DIGEST_JOB, key=key, subject_id=user_id, due_at=younger.at + wait))
        unread = []
        for booking_id, lines in due.items():
            booking, found = bookings[booking_id]
            mark: ConversationRead | None = found
            if mark is None:
                mark = ConversationRead(
                    booking_id=booking_id, user_id=user_id, last_read_id=0, mailed_up_to=0
                )
                s.add(mark)
            mark.mailed_up_to = lines[-1].id
            other = await s.get(User, booking.other_than(user_id))
            name = other.name if other else "Your mentor"
            unread.append(Unread(booking_id, name, len(lines), lines[0].text or "(a file)"))
        return messages.message_digest(user_id=user_id, unread=unread) if unread else []

    # -- one message: the in-app line, and the mail unless turned off ---------------------------

    async def _add(self, s: AsyncSession, message: Message, told: set[int]) -> None:
        now = self.clock()
        body = message.body.replace("{url}", self.base_url)
        if message.in_app:
            told.add(message.user_id)
            s.add(
                Notification(
                    user_id=message.user_id,
                    kind=message.kind,
                    title=message.title,
                    body=body,
                    link=message.link,
                    created_at=now,
                )
            )
        user = await s.get(User, message.user_id)
        if user is None or await s.get(EmailOptOut, (message.user_id, message.kind)):
            return
        name, kind, data = message.attachment or ("", "", b"")
        footer = (
            f"\n\n--\nmicromentor. You get this mail because of your account at {self.base_url}."
            f"\nStop mails like this: {self.unsubscribe_url(user.id, message.kind)}"
        )
        s.add(
            OutboxMail(
                user_id=user.id,
                kind=message.kind,
                to_address=user.email,
                subject=message.title,
                body=f"Hello {user.name},\n\n{body}{footer}\n",
                attachment_name=name,
                attachment_type=kind,
                attachment=base64.b64encode(data).decode(),
                created_at=now,
                next_attempt_at=now,
                attempts=0,
                last_error="",
            )
        )

    # -- unsubscribing -----------------------------------------------------------------------------

    def unsubscribe_token(self, user_id: int, kind: str) -> str:
        message = f"{user_id}:{kind}".encode()
        return hmac.new(self.unsubscribe_key, message, hashlib.sha256).hexdigest()[:32]

    def unsubscribe_url(self, user_id: int, kind: str) -> str:
        query = urlencode(
            {"user": user_id, "kind": kind, "token": self.unsubscribe_token(user_id, kind)}
        )
        return f"{self.base_url}/unsubscribe?{query}"

    def token_matches(self, user_id: int, kind: str, token: str) -> bool:
        return kind in messages.KINDS and hmac.compare_digest(
            self.unsubscribe_token(user_id, kind), token
        )

    async def email_off(self, user_id: int) -> set[str]:
        async with self.db.read() as s:
            rows = await s.scalars(select(EmailOptOut.kind).where(EmailOptOut.user_id == user_id))
            return set(rows)

    async def set_email_off(self, user_id: int, kinds: set[str]) -> None:
        async with self.db.write() as s:
            current = set(
                await s.scalars(select(EmailOptOut.kind).where(EmailOptOut.user_id == user_id))
            )
            for kind in current - kinds:
                row = await s.get(EmailOptOut, (user_id, kind))
                if row is not None:
                    await s.delete(row)
            for kind in kinds - current:
                s.add(EmailOptOut(user_id=user_id, kind=kind))

    # -- the in-app list ---------------------------------------------------------------------------

    async def of_user(
        self, user_id: int, page: int, per_page: int
    ) -> tuple[list[Notification], int, int]:
        async with self.db.read() as s:
            mine = Notification.user_id == user_id
            rows = (
                await s.scalars(
                    select(Notification)
                    .where(mine)
                    .order_by(Notification.id.desc())
                    .offset((page - 1) * per_page)
                    .limit(per_page)
                )
            ).all()
            total = await s.scalar(select(func.count()).where(mine)) or 0
            unread = (
                await s.scalar(select(func.count()).where(mine, Notification.read_at.is_(None)))
                or 0
            )
        return list(rows), total, unread

    async def _announce(self, user_ids: set[int]) -> None:
        """Tells the live sockets of `user_ids` their new count of unread notifications."""
        for user_id in user_ids:
            if self.live.online(user_id):
                count = await self.unread_count(user_id)
                await self.live.publish([user_id], {"type": "unread", "notifications": count})

    async def unread_counts(self, user_id: int) -> dict[str, int]:
        """What a live socket is told when it opens."""
        return {"notifications": await self.unread_count(user_id)}

    async def unread_count(self, user_id: int) -> int:
        async with self.db.read() as s:
            count = await s.scalar(
                select(func.count()).where(
                    Notification.user_id == user_id, Notification.read_at.is_(None)
                )
            )
        return int(count or 0)

    async def mark_read(self, user_id: int, notification_id: int | None = None) -> int:
        async with self.db.write() as s:
            query = update(Notification).where(
                Notification.user_id == user_id, Notification.read_at.is_(None)
            )
            if notification_id is not None:
                query = query.where(Notification.id == notification_id)
            result = await s.execute(query.values(read_at=self.clock()))
        changed = int(getattr(result, "rowcount", 0) or 0)
        if changed:
            await self._announce({user_id})  # the user's other pages
        return changed

    # -- delivery ----------------------------------------------------------------------------------

    async def deliver(self) -> int:
        """Sends what is due in the outbox; returns how many went out."""
        if self.send is None:
            return 0
        now = self.clock()
        async with self.db.write() as s:
            due = (
                await s.scalars(
                    select(OutboxMail)
                    .where(
                        OutboxMail.sent_at.is_(None),
                        OutboxMail.failed_at.is_(None),
                        OutboxMail.next_attempt_at <= now,
                        or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
                    )
                    .order_by(OutboxMail.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for mail in due:
                mail.claimed_until = now + CLAIM
            claimed = [(mail.id, self._email(mail)) for mail in due]
        sent = 0
        for mail_id, email in claimed:
            error = ""
            try:
                await self.send(email)
            except Exception as exc:  # refused, timed out, unreachable: retried with backoff
                error = f"{exc.__class__.__name__}: {exc}"[:300]
                log.warning("mail %s not sent: %s", mail_id, error)
            await self._after_attempt(mail_id, error)
            sent += not error
        return sent

    async def _after_attempt(self, mail_id: int, error: str) -> None:
        now = self.clock()
        async with self.db.write() as s:
            mail = await s.get(OutboxMail, mail_id)
            if mail is None:
                return
            mail.claimed_until = None
            mail.attempts += 1
            if not error:
                mail.sent_at = now
                return
            mail.last_error = error
            if mail.attempts >= self.settings.max_attempts:
                mail.failed_at = now
                return
            wait = min(FIRST_RETRY * 2 ** (mail.attempts - 1), LAST_RETRY)
            mail.next_attempt_at = now + wait

    def _email(self, mail: OutboxMail) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = mail.to_address
        email["Subject"] = mail.subject
        if mail.user_id is not None and mail.kind in messages.KINDS:
            link = self.unsubscribe_url(mail.user_id, mail.kind)
            email["List-Unsubscribe"] = f"<{link}>"
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email.set_content(mail.body)
        if mail.attachment_name:
            maintype, subtype = mail.attachment_type.split("/", 1)
            email.add_attachment(
                base64.b64decode(mail.attachment),
                maintype=maintype,
                subtype=subtype,
                filename=mail.attachment_name,
            )
        return email

    async def outbox(self, limit: int = 200) -> list[OutboxMail]:
        async with self.db.read() as s:
            rows = await s.scalars(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit))
            return list(rows)


def reminder_key(booking_id: int, starts_at: datetime) -> str:
    """One reminder per booking and start (a moved booking gets a new one)."""
    return f"reminder:{booking_id}:{int(starts_at.timestamp())}"


NOTIFICATIONS = web.AppKey("notifications", Notifications)
