"""Disputes: opened by a mentee, decided by an administrator.

A mentee reports a problem with a paid call that took place or was missed (`completed`,
`no_show`) within WINDOW of its end; one dispute per booking. An administrator decides with a
note: no refund, part or all of what the booking kept. A refund is asked of the gateway (its
own idempotency key, `dispute-{id}`) and posted to the ledger as a reversal of the mentor's
share, the platform's commission and its GST (billing/ledger.py `dispute_refund`), in the same
transaction as the decision, its audit entry and the event that tells both sides. A booking
whose money is still held (the call's outcome not settled yet) is settled first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from aiohttp import web
from sqlalchemy import case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from billing import flows
from server.clock import Clock
from server.db import audit, events
from server.db.engine import Database
from server.db.models import (
    Booking,
    Dispute,
    LedgerEntry,
    LedgerTransaction,
    User,
    call_outcome,
)
from server.http.errors import ApiError
from server.http.formats import rupees
from server.payments.money import Money, money_of

WINDOW = timedelta(days=7)
MAX_REASON = 2000
DISPUTABLE = ("completed", "no_show")
STATUSES = ("open", "decided")


@dataclass(frozen=True)
class Opening:
    reason: str = field(
        metadata={"min_length": 1, "max_length": MAX_REASON, "description": "what went wrong"}
    )


@dataclass(frozen=True)
class Decision:
    decision: Literal["none", "partial", "full"]
    note: str = field(metadata={"min_length": 1, "max_length": 1000})
    refund_paise: int = field(
        default=0, metadata={"minimum": 0, "description": "for `partial` only"}
    )


@dataclass(frozen=True)
class Case:
    """A dispute with what a page or the API shows beside it."""

    dispute: Dispute
    booking: Booking
    mentee: User
    mentor: User
    refundable: int  # what a refund could still give back


def call_end(booking: Booking) -> datetime:
    """When the call ended: when it did, or its booked end when it never took place."""
    return booking.call_ended_at or booking.booked_end


def refundable(booking: Booking, dispute: Dispute | None = None) -> int:
    """What a refund could still give back: what the booking kept (billing/flows.py `kept`;
    money still held counts whole, as deciding settles it first) less this dispute's refund."""
    money = money_of(booking)
    kept = money.paid_paise if money.state == "held" else flows.kept(money)
    decided = dispute.refund_paise if dispute is not None else 0
    return max(0, kept - decided)


class Disputes:
    def __init__(self, db: Database, money: Money, *, clock: Clock) -> None:
        self.db = db
        self.money = money
        self.clock = clock

    # -- opening -------------------------------------------------------------------------------

    def why_not(self, booking: Booking) -> str | None:
        """Why a dispute cannot be opened on the booking now; None when it can."""
        if booking.status == "cancelled":
            return "a cancelled call is refunded by the cancellation policy, not a dispute"
        if booking.status not in DISPUTABLE:
            return "a problem can be reported once the call is over"
        if booking.paid_paise <= 0 or booking.payment_id is None:
            return "only a paid call can be disputed"
        if self.clock() > call_end(booking) + WINDOW:
            ended = call_end(booking).strftime("%d %b %Y")
            return (
                f"problems can be reported up to {WINDOW.days} days after a call; "
                f"this one was on {ended}"
            )
        return None

    def disputable(self, booking: Booking) -> bool:
        """For pages: a "Report a problem" link on the booking's mentee's past calls."""
        return self.why_not(booking) is None

    async def open(self, user: User, booking_id: int, opening: Opening) -> Dispute:
        reason = opening.reason.strip()
        if not reason:
            raise ApiError(400, "invalid_field", "say what went wrong", "reason")
        now = self.clock()
        try:
            async with self.db.write() as s:
                booking = await s.get(Booking, booking_id)
                if booking is None or booking.mentee_id != user.id:
                    raise ApiError(404, "not_found", "no such booking of yours")
                if await self._of_booking(s, booking_id) is not None:
                    raise ApiError(409, "already_disputed", "this call has a dispute already")
                why = self.why_not(booking)
                if why is not None:
                    raise ApiError(409, "not_disputable", why)
                dispute = Dispute(
                    booking_id=booking.id,
                    mentee_id=user.id,
                    reason=reason,
                    status="open",
                    opened_at=now,
                    refund_paise=0,
                    note="",
                )
                s.add(dispute)
                await s.flush()
                events.record(s, "dispute_opened", dispute.id, now, actor_id=user.id)
        except IntegrityError:  # the same mentee opening it twice at once
            raise ApiError(409, "already_disputed", "this call has a dispute already") from None
        return dispute

    # -- reading -------------------------------------------------------------------------------

    async def of_booking(self, user: User, booking_id: int) -> tuple[Booking, Dispute | None]:
        """A booking of the user's (as mentee or mentor) and its dispute; 404 for others."""
        async with self.db.read() as s:
            booking = await s.get(Booking, booking_id)
            if booking is None or booking.role_of(user.id) is None:
                raise ApiError(404, "not_found", "no such booking of yours")
            return booking, await self._of_booking(s, booking_id)

    async def names(self, booking: Booking) -> dict[int, str]:
        async with self.db.read() as s:
            people = await s.scalars(
                select(User).where(User.id.in_((booking.mentee_id, booking.mentor_id)))
            )
            return {u.id: u.name for u in people}

    async def states_of(self, mentee_id: int) -> dict[int, str]:
        """The mentee's disputes by booking: "open" or "decided" (the dashboard's links)."""
        async with self.db.read() as s:
            rows = await s.execute(
                select(Dispute.booking_id, Dispute.status).where(Dispute.mentee_id == mentee_id)
            )
            return {booking_id: status for booking_id, status in rows.all()}

    async def of_user(self, user: User) -> list[Case]:
        """The user's disputes as mentee, and those on their calls as mentor, newest first."""
        query = (
            select(Dispute)
            .join(Booking, Booking.id == Dispute.booking_id)
            .where(or_(Booking.mentee_id == user.id, Booking.mentor_id == user.id))
            .order_by(Dispute.opened_at.desc(), Dispute.id.desc())
        )
        async with self.db.read() as s:
            return [await self._case(s, d) for d in await s.scalars(query)]

    async def queue(
        self, status: Literal["open", "decided", ""], page: int, per_page: int
    ) -> tuple[list[Case], int]:
        """For administrators: open disputes first (oldest first), then decided ones."""
        where = [Dispute.status == status] if status else []
        query = (
            select(Dispute)
            .where(*where)
            .order_by(
                case((Dispute.status == "open", 0), else_=1),
                case((Dispute.status == "open", Dispute.opened_at), else_=None),
                Dispute.decided_at.desc(),
                Dispute.id,
            )
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        async with self.db.read() as s:
            total = await s.scalar(select(func.count()).select_from(Dispute).where(*where))
            return [await self._case(s, d) for d in await s.scalars(query)], int(total or 0)

    async def case(self, dispute_id: int) -> tuple[Case, list[dict[str, Any]]]:
        """One dispute for administrators, with its booking's ledger transactions."""
        async with self.db.read() as s:
            dispute = await s.get(Dispute, dispute_id)
            if dispute is None:
                raise ApiError(404, "not_found", "no such dispute")
            found = await self._case(s, dispute)
            rows = (
                await s.execute(
                    select(LedgerTransaction, LedgerEntry)
                    .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
                    .where(LedgerTransaction.booking_id == dispute.booking_id)
                    .order_by(LedgerTransaction.id, LedgerEntry.id)
                )
            ).all()
        ledger: dict[int, dict[str, Any]] = {}
        for transaction, entry in rows:
            line = ledger.setdefault(
                transaction.id,
                {
                    "key": transaction.key,
                    "kind": transaction.kind,
                    "at": transaction.created_at,
                    "entries": [],
                },
            )
            line["entries"].append({"account": entry.account, "amount_paise": entry.amount_paise})
        return found, list(ledger.values())

    # -- deciding ------------------------------------------------------------------------------

    async def decide(self, admin: User, dispute_id: int, choice: Decision) -> Dispute:
        """Decides an open dispute once; a second decision (or a replay) is a 409 and moves
        nothing. The refund is asked of the gateway after the commit (and retried by the
        sweeper while the gateway is unreachable)."""
        note = choice.note.strip()
        if not note:
            raise ApiError(400, "invalid_field", "write a note for the decision", "note")
        async with self.db.read() as s:
            dispute = await s.get(Dispute, dispute_id)
            booking = await s.get(Booking, dispute.booking_id) if dispute else None
        if dispute is None or booking is None:
            raise ApiError(404, "not_found", "no such dispute")
        _not_decided(dispute)
        if booking.money_state == "held":  # the outcome of the call was not settled yet
            await self.money.outcome(booking.id, call_outcome(booking))
        now = self.clock()
        async with self.db.write() as s:
            dispute = await s.get(Dispute, dispute_id, with_for_update=True)
            assert dispute is not None
            _not_decided(dispute)
            booking = await s.get(Booking, dispute.booking_id)
            assert booking is not None and booking.payment_id is not None
            money = money_of(booking)
            if money.state == "held":  # settling failed just now; the sweeper retries it
                raise ApiError(409, "not_settled", "the call's money is not settled yet; retry")
            amount = _amount(choice, flows.kept(money))
            if amount:
                for transaction in flows.on_dispute_refund(money, amount, self.money.rules):
                    await self.money.post(s, transaction, booking.id)
                self.money.add_refund(
                    s, booking.id, booking.payment_id, amount, f"dispute-{dispute.id}"
                )
            dispute.status, dispute.decision, dispute.note = "decided", choice.decision, note
            dispute.refund_paise, dispute.decided_by, dispute.decided_at = amount, admin.id, now
            audit.record(
                s,
                admin.id,
                "dispute_decided",
                ("dispute", dispute.id),
                now,
                before={"status": "open"},
                after={"status": "decided", "decision": choice.decision, "refund_paise": amount},
                note=note,
            )
            mentor_paise = self.money.rules.split(amount)[0]
            events.record(
                s,
                "dispute_decided",
                dispute.id,
                now,
                actor_id=admin.id,
                refund_paise=amount,
                mentor_paise=mentor_paise,
            )
        if amount:
            await self.money.request_refunds()
        return dispute

    # -- helpers -------------------------------------------------------------------------------

    async def _of_booking(self, s: AsyncSession, booking_id: int) -> Dispute | None:
        return await s.scalar(select(Dispute).where(Dispute.booking_id == booking_id))

    async def _case(self, s: AsyncSession, dispute: Dispute) -> Case:
        booking = await s.get(Booking, dispute.booking_id)
        assert booking is not None
        mentee, mentor = await s.get(User, booking.mentee_id), await s.get(User, booking.mentor_id)
        assert mentee is not None and mentor is not None
        return Case(dispute, booking, mentee, mentor, refundable(booking, dispute))


def _not_decided(dispute: Dispute) -> None:
    if dispute.status != "open":
        raise ApiError(409, "already_decided", "this dispute is decided already")


def _amount(choice: Decision, available: int) -> int:
    """The refund a decision gives, out of `available` (what the booking kept)."""
    if choice.decision == "none":
        return 0
    if choice.decision == "full":
        if available <= 0:
            raise ApiError(409, "nothing_to_refund", "the mentee got everything back already")
        return available
    if not 1 <= choice.refund_paise <= available - 1:
        top = rupees(available - 1, exact=True) if available > 1 else None
        message = (
            f"a partial refund is between ₹0.01 and {top}" if top else "nothing to refund in part"
        )
        raise ApiError(400, "invalid_field", message, "refund_paise")
    return choice.refund_paise


DISPUTES = web.AppKey("disputes", Disputes)
