"""Money on the server: gateway orders, verified payments, webhooks, the stored ledger, refunds.

billing/ decides what each event does (billing/flows.py, billing/ledger.py); this module keeps
the results in the database, in the same transaction as the booking they belong to, so a
payment event is applied once however often and in whatever order it arrives.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Literal

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing import flows
from billing.gateway import GatewayError, PaymentGateway
from billing.ledger import REFUNDS, SplitRules, Transaction, refund_paid, wallet
from server.clock import Clock
from server.db import events
from server.db.engine import Database
from server.db.models import (
    Booking,
    LedgerEntry,
    LedgerTransaction,
    PaymentOrder,
    RefundRecord,
    User,
    WebhookEvent,
    call_outcome,
)
from server.http.errors import ApiError

log = logging.getLogger("micromentor.money")
BOOKABLE = ("pending_payment", "confirmed", "in_call")
# An order with no payment after this long is asked about (the callback may have been lost).
RECONCILE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class PaymentCallback:
    razorpay_order_id: str = field(metadata={"max_length": 40})
    razorpay_payment_id: str = field(metadata={"max_length": 40})
    razorpay_signature: str = field(metadata={"max_length": 128})


def checkout_url(order_id: str, booking_id: int, gateway: str) -> str:
    """Where the mentee pays: the simulator's page, or the page that opens Razorpay Checkout."""
    if gateway == "simulator":
        return f"/payments/simulator/{order_id}"
    return f"/bookings/{booking_id}/pay"


def booking_refund_key(booking_id: int) -> str:
    """The idempotency key of a booking's own refund (a cancellation's, a no-show's)."""
    return f"refund-booking-{booking_id}"


def money_of(booking: Booking) -> flows.BookingMoney:
    return flows.BookingMoney(
        booking_id=booking.id,
        mentor_id=booking.mentor_id,
        price_paise=booking.amount_paise,
        state=booking.money_state,  # type: ignore[arg-type]
        payment_id=booking.payment_id,
        paid_paise=booking.paid_paise,
        refund_paise=booking.refund_paise or 0,
        bookable=booking.status in BOOKABLE,
        sponsor_id=booking.sponsor_id,
    )


def store_money(booking: Booking, money: flows.BookingMoney) -> None:
    booking.money_state = money.state
    booking.payment_id = money.payment_id
    booking.paid_paise = money.paid_paise
    booking.sponsor_id = money.sponsor_id
    if money.state == "refunded":
        booking.refund_paise = money.refund_paise


class Money:
    """Payments, the ledger and refunds (see the module docstring)."""

    def __init__(
        self, db: Database, gateway: PaymentGateway, rules: SplitRules, *, clock: Clock
    ) -> None:
        self.db = db
        self.gateway = gateway
        self.rules = rules
        self.clock = clock

    # -- orders and payments ------------------------------------------------------------------

    async def open_order(self, booking: Booking) -> PaymentOrder:
        """A gateway order for the booking's price (the booking id is the receipt)."""
        order = await self.gateway.create_order(booking.amount_paise, f"booking-{booking.id}")
        record = PaymentOrder(
            id=order.id,
            booking_id=booking.id,
            amount_paise=order.amount_paise,
            gateway=self.gateway.name,
            status="created",
            created_at=self.clock(),
        )
        async with self.db.write() as s:
            s.add(record)
        return record

    async def checkout(self, booking: Booking) -> dict[str, Any]:
        """What a client pays a new booking with: its order and where to pay (booking's
        Checkout)."""
        order = await self.open_order(booking)
        return {
            "order": {
                "order_id": order.id,
                "key_id": self.gateway.key_id,
                "amount": order.amount_paise,
                "currency": "INR",
                "gateway": self.gateway.name,
            },
            "checkout_url": checkout_url(order.id, booking.id, self.gateway.name),
        }

    async def order_for(self, booking_id: int) -> PaymentOrder | None:
        async with self.db.read() as s:
            return await s.scalar(
                select(PaymentOrder)
                .where(PaymentOrder.booking_id == booking_id)
                .order_by(PaymentOrder.created_at.desc())
                .limit(1)
            )

    async def verify(self, user: User, callback: PaymentCallback) -> Booking:
        """The checkout callback: the signature must match the order we stored, the payment
        must be real and of the order's amount. Applying it twice changes nothing."""
        async with self.db.read() as s:
            order = await s.get(PaymentOrder, callback.razorpay_order_id)
            booking = await s.get(Booking, order.booking_id) if order else None
        if order is None or booking is None or booking.mentee_id != user.id:
            raise ApiError(404, "not_found", "no such order", "razorpay_order_id")
        if not self.gateway.verify_payment(
            order.id, callback.razorpay_payment_id, callback.razorpay_signature
        ):
            raise ApiError(
                400, "bad_signature", "the payment signature does not match", "razorpay_signature"
            )
        try:
            payment = await self.gateway.fetch_payment(callback.razorpay_payment_id)
        except GatewayError as exc:
            log.warning("fetching payment %s failed: %s", callback.razorpay_payment_id, exc)
            raise ApiError(
                502,
                "gateway_unavailable",
                "the payment could not be checked; it will be settled shortly",
            ) from None
        if payment.order_id != order.id or not payment.succeeded:
            raise ApiError(400, "payment_not_captured", "this payment did not go through")
        if payment.amount_paise != order.amount_paise:
            await self.apply_payment(order.id, payment.id, payment.amount_paise)
            raise ApiError(
                400, "amount_mismatch", "the amount paid is not the order's; it is refunded"
            )
        return await self.apply_payment(order.id, payment.id, payment.amount_paise)

    async def apply_payment(self, order_id: str, payment_id: str, amount: int) -> Booking:
        """Holds the payment in escrow and confirms the booking, once per payment."""
        refund: RefundRecord | None = None
        async with self.db.write() as s:
            order = await s.get(PaymentOrder, order_id)
            if order is None:
                raise ApiError(404, "not_found", "no such order")
            booking = await s.get(Booking, order.booking_id)
            assert booking is not None
            # A wrong amount, or a booking that expired meanwhile: held, then refunded in full.
            money, posted = flows.on_payment(money_of(booking), payment_id, amount, self.rules)
            for transaction in posted:
                await self._post(s, transaction, booking.id)
            store_money(booking, money)
            order.status, order.payment_id = "paid", order.payment_id or payment_id
            order.paid_at = order.paid_at or self.clock()
            if money.state == "held" and booking.status == "pending_payment":
                booking.status = "confirmed"
                booking.hold_expires_at = None
                events.record(s, "booking_confirmed", booking.id, self.clock())
            if posted and money.state == "refunded":
                refund = self._refund_record(s, booking, money)
        if refund is not None:
            await self.request_refunds()
        return booking

    # -- cancellations and outcomes -----------------------------------------------------------

    async def cancelled(self, booking_id: int, refund_paise: int) -> None:
        await self._apply(booking_id, lambda m: flows.on_cancel(m, refund_paise, self.rules))

    async def outcome(
        self, booking_id: int, outcome: Literal["completed", "mentor_no_show", "mentee_no_show"]
    ) -> None:
        await self._apply(booking_id, lambda m: flows.on_outcome(m, outcome, self.rules))

    async def _apply(self, booking_id: int, step: Any) -> None:
        refund = None
        async with self.db.write() as s:
            booking = await s.get(Booking, booking_id)
            if booking is None:
                return
            money, posted = step(money_of(booking))
            for transaction in posted:
                await self._post(s, transaction, booking.id)
            store_money(booking, money)
            if posted and money.state == "refunded" and money.refund_paise:
                refund = self._refund_record(s, booking, money)
        if refund is not None:
            await self.request_refunds()

    def _refund_record(
        self, s: AsyncSession, booking: Booking, money: flows.BookingMoney
    ) -> RefundRecord | None:
        if not money.refund_paise or money.payment_id is None:
            return None
        return self.add_refund(
            s, booking.id, money.payment_id, money.refund_paise, booking_refund_key(booking.id)
        )

    def add_refund(
        self, s: AsyncSession, booking_id: int, payment_id: str, amount: int, key: str
    ) -> RefundRecord:
        """A refund to ask the gateway for (request_refunds, after the commit); `key` is its
        idempotency key, so asking again never refunds twice. A payment may have several."""
        record = RefundRecord(
            booking_id=booking_id,
            payment_id=payment_id,
            amount_paise=amount,
            idempotency_key=key,
            status="pending",
            created_at=self.clock(),
        )
        s.add(record)
        return record

    async def request_refunds(self) -> int:
        """Asks the gateway for every refund not yet requested (with its idempotency key)."""
        async with self.db.read() as s:
            pending = list(
                await s.scalars(select(RefundRecord).where(RefundRecord.status == "pending"))
            )
        done = 0
        for record in pending:
            try:
                refund = await self.gateway.refund(
                    record.payment_id, record.amount_paise, record.idempotency_key
                )
            except GatewayError as exc:
                log.warning("refund for booking %s not requested yet: %s", record.booking_id, exc)
                continue
            async with self.db.write() as s:
                stored = await s.get(RefundRecord, record.id)
                assert stored is not None
                stored.gateway_refund_id = refund.id
                if stored.status == "pending":  # a webhook may have said "processed" already
                    stored.status = "requested"
            if refund.status == "processed":
                await self.refund_processed(refund.id, record.payment_id)
            done += 1
        return done

    async def refund_processed(self, refund_id: str, payment_id: str) -> None:
        """The gateway paid a refund out: its `refund_paid` is posted once. A payment can have
        two refunds (the booking's and a dispute's): the gateway's refund id tells them apart,
        and before we stored it, the payment's oldest refund still without one."""
        async with self.db.write() as s:
            record = await s.scalar(
                select(RefundRecord).where(RefundRecord.gateway_refund_id == refund_id)
            ) or await s.scalar(
                select(RefundRecord)
                .where(
                    RefundRecord.payment_id == payment_id,
                    RefundRecord.gateway_refund_id.is_(None),
                )
                .order_by(RefundRecord.id)
                .limit(1)
            )
            if record is None:
                return  # a refund made outside micromentor: nothing of ours to settle
            booking = await s.get(Booking, record.booking_id)
            assert booking is not None
            posted: list[Transaction] = []
            if record.idempotency_key != booking_refund_key(booking.id):
                if record.status != "processed":  # a dispute's refund: its own amount
                    posted = [refund_paid(booking.id, refund_id, record.amount_paise)]
            else:
                money = replace(money_of(booking), refund_paid=record.status == "processed")
                _money, posted = flows.on_refund_processed(money, refund_id)
            for transaction in posted:
                await self._post(s, transaction, booking.id)
            record.status = "processed"
            record.gateway_refund_id = record.gateway_refund_id or refund_id

    # -- webhooks and reconciliation ----------------------------------------------------------

    async def webhook(self, body: bytes, signature: str, event_id: str) -> str:
        """Applies a verified gateway event once; returns what happened, for the log."""
        if not self.gateway.verify_webhook(body, signature):
            raise ApiError(400, "bad_signature", "the webhook signature does not match")
        try:
            event = json.loads(body)
            name = str(event["event"])
            payload = event.get("payload", {})
        except (ValueError, KeyError, TypeError):
            raise ApiError(400, "malformed_json", "the event is not a Razorpay event") from None
        event_id = event_id or f"{name}:{json.dumps(payload, sort_keys=True)[:60]}"
        async with self.db.write() as s:
            if await s.get(WebhookEvent, event_id[:80]) is not None:
                return "duplicate"
            s.add(WebhookEvent(id=event_id[:80], event=name[:40], received_at=self.clock()))
        if name in ("payment.captured", "payment.authorized", "order.paid"):
            payment = payload.get("payment", {}).get("entity", {})
            order_id = payment.get("order_id")
            if order_id and payment.get("id") and isinstance(payment.get("amount"), int):
                async with self.db.read() as s:
                    known = await s.get(PaymentOrder, order_id)
                if known is not None:
                    await self.apply_payment(order_id, payment["id"], payment["amount"])
                    return "payment applied"
            return "payment for an unknown order"
        if name == "refund.processed":
            refund = payload.get("refund", {}).get("entity", {})
            if refund.get("id") and refund.get("payment_id"):
                await self.refund_processed(refund["id"], refund["payment_id"])
                return "refund processed"
        return "ignored"

    async def reconcile(self, everything: bool = False) -> int:
        """Settles orders whose payment we never heard of (a lost callback, a crash).

        Periodically only orders older than RECONCILE_AFTER are asked about, so checkouts in
        progress are left alone; at start-up (`everything`) every open order is.
        """
        cutoff = self.clock() - (timedelta(0) if everything else RECONCILE_AFTER)
        async with self.db.read() as s:
            orders = list(
                await s.scalars(
                    select(PaymentOrder).where(
                        PaymentOrder.status == "created", PaymentOrder.created_at <= cutoff
                    )
                )
            )
        applied = 0
        for order in orders:
            try:
                payments = await self.gateway.order_payments(order.id)
            except GatewayError as exc:
                log.warning("reconciling order %s failed: %s", order.id, exc)
                continue
            for payment in payments:
                if payment.succeeded:
                    await self.apply_payment(order.id, payment.id, payment.amount_paise)
                    applied += 1
                    break
        await self.settle_leftovers()
        await self.request_refunds()
        return applied

    async def settle_leftovers(self) -> int:
        """Finished bookings whose money is still in escrow (the server stopped between
        storing the outcome and moving the money): move it now. Each step is idempotent."""
        async with self.db.read() as s:
            rows = list(
                await s.scalars(
                    select(Booking).where(
                        Booking.money_state == "held",
                        Booking.status.in_(("cancelled", "completed", "no_show")),
                    )
                )
            )
        for booking in rows:
            if booking.status == "cancelled":
                await self.cancelled(booking.id, booking.refund_paise or 0)
            else:
                await self.outcome(booking.id, call_outcome(booking))
        return len(rows)

    # -- the ledger ---------------------------------------------------------------------------

    async def balance_in(self, s: AsyncSession, account: str) -> int:
        """An account's balance inside the caller's transaction (for checks before posting)."""
        total = await s.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_paise), 0)).where(
                LedgerEntry.account == account
            )
        )
        return int(total or 0)

    async def post(
        self, s: AsyncSession, transaction: Transaction, booking_id: int | None = None
    ) -> bool:
        return await self._post(s, transaction, booking_id)

    async def _post(
        self, s: AsyncSession, transaction: Transaction, booking_id: int | None
    ) -> bool:
        """Stores the transaction unless its key is there already (the replay of an event)."""
        existing = await s.scalar(
            select(LedgerTransaction.id).where(LedgerTransaction.key == transaction.key)
        )
        if existing is not None:
            return False
        row = LedgerTransaction(
            key=transaction.key,
            kind=transaction.kind,
            booking_id=booking_id,
            created_at=self.clock(),
        )
        s.add(row)
        await s.flush()
        s.add_all(
            LedgerEntry(transaction_id=row.id, account=e.account, amount_paise=e.amount_paise)
            for e in transaction.entries
        )
        return True

    async def balance(self, account: str) -> int:
        async with self.db.read() as s:
            total = await s.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount_paise), 0)).where(
                    LedgerEntry.account == account
                )
            )
        return int(total or 0)

    async def refunded(self, booking_id: int) -> int:
        """Everything owed back to the mentee for a booking: the policy's refund and a
        dispute's, from the ledger."""
        async with self.db.read() as s:
            total = await s.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount_paise), 0))
                .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
                .where(
                    LedgerTransaction.booking_id == booking_id,
                    LedgerEntry.account == REFUNDS,
                    LedgerEntry.amount_paise > 0,
                )
            )
        return int(total or 0)

    async def total(self) -> int:
        async with self.db.read() as s:
            total = await s.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_paise), 0)))
        return int(total or 0)

    async def wallet(self, mentor_id: int) -> tuple[int, list[dict[str, Any]]]:
        account = wallet(mentor_id)
        async with self.db.read() as s:
            rows = (
                await s.execute(
                    select(
                        LedgerEntry.amount_paise,
                        LedgerTransaction.kind,
                        LedgerTransaction.booking_id,
                        LedgerTransaction.created_at,
                    )
                    .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
                    .where(LedgerEntry.account == account)
                    .order_by(LedgerTransaction.created_at.desc(), LedgerEntry.id.desc())
                )
            ).all()
        entries = [
            {
                "amount_paise": amount,
                "kind": kind,
                "booking_id": booking_id,
                "at": at.isoformat().replace("+00:00", "Z"),
            }
            for amount, kind, booking_id, at in rows
        ]
        return sum(e["amount_paise"] for e in entries), entries


MONEY = web.AppKey("money", Money)
