"""Payouts: where a mentor is paid (encrypted at rest), withdrawals, the weekly batch, TDS,
and an administrator marking transfers paid or failed. The ledger records every step."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from billing.config import BillingSettings
from billing.ledger import payout, payout_failed, payout_paid, tds_on, wallet
from server.clock import Clock
from server.db import audit, events
from server.db.models import Payout, PayoutAccount, User
from server.http.errors import ApiError
from server.payments.money import Money

UPI_ID = re.compile(r"^[\w.\-]{2,256}@[A-Za-z]{2,64}$")
IFSC = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")
ACCOUNT_NUMBER = re.compile(r"^\d{9,18}$")
INDIA = ZoneInfo("Asia/Kolkata")


@dataclass(frozen=True)
class PayoutDetails:
    method: Literal["upi", "bank"]
    upi_id: str = field(default="", metadata={"max_length": 320})
    account_number: str = field(default="", metadata={"max_length": 18})
    ifsc: str = field(default="", metadata={"max_length": 11})
    account_holder: str = field(default="", metadata={"max_length": 100})


@dataclass(frozen=True)
class Settlement:
    reference: str = field(
        default="", metadata={"max_length": 80, "description": "the bank's reference"}
    )


def check_details(details: PayoutDetails) -> tuple[dict[str, str], str]:
    """The details to store and how to show them (masked); a 400 naming the bad field."""
    if details.method == "upi":
        if not UPI_ID.match(details.upi_id.strip()):
            raise ApiError(400, "invalid_field", "is not a UPI id (name@bank)", "upi_id")
        upi = details.upi_id.strip()
        name, bank = upi.split("@", 1)
        return {"upi_id": upi}, f"{name[:2]}…@{bank}"
    number = details.account_number.strip()
    if not ACCOUNT_NUMBER.match(number):
        raise ApiError(400, "invalid_field", "must be 9 to 18 digits", "account_number")
    ifsc = details.ifsc.strip().upper()
    if not IFSC.match(ifsc):
        raise ApiError(400, "invalid_field", "is not an IFSC code", "ifsc")
    holder = " ".join(details.account_holder.split())
    if not holder:
        raise ApiError(400, "invalid_field", "is required", "account_holder")
    return (
        {"account_number": number, "ifsc": ifsc, "account_holder": holder},
        f"{ifsc} ••••{number[-4:]}",
    )


def financial_year_start(at: datetime) -> datetime:
    """1 April (in India) of the financial year `at` falls in."""
    local = at.astimezone(INDIA)
    year = local.year if local.month >= 4 else local.year - 1
    return datetime(year, 4, 1, tzinfo=INDIA)


class Payouts:
    def __init__(
        self, money: Money, settings: BillingSettings, details_key: bytes, *, clock: Clock
    ) -> None:
        self.money = money
        self.db = money.db
        self.settings = settings
        self._fernet = Fernet(base64.urlsafe_b64encode(details_key))
        self.clock = clock

    async def save_details(self, user: User, details: PayoutDetails) -> str:
        stored, masked = check_details(details)
        secret = self._fernet.encrypt(json.dumps(stored).encode()).decode()
        async with self.db.write() as s:
            account = await s.get(PayoutAccount, user.id)
            if account is None:
                account = PayoutAccount(user_id=user.id)
                s.add(account)
            account.method, account.details_encrypted = details.method, secret
            account.masked, account.updated_at = masked, self.clock()
        return masked

    async def account(self, user_id: int) -> PayoutAccount | None:
        async with self.db.read() as s:
            return await s.get(PayoutAccount, user_id)

    def reveal(self, account: PayoutAccount) -> dict[str, str]:
        """The clear details, for the administrator making the transfer."""
        details: dict[str, str] = json.loads(self._fernet.decrypt(account.details_encrypted))
        return details

    async def withdraw(self, user: User, batch: str = "") -> Payout:
        """Takes the whole wallet balance into a pending payout, TDS withheld when due."""
        now = self.clock()
        async with self.db.write() as s:
            if not self.db.is_sqlite:  # one withdrawal of a wallet at a time
                await s.execute(select(User.id).where(User.id == user.id).with_for_update())
            account = await s.get(PayoutAccount, user.id)
            if account is None:
                raise ApiError(409, "no_payout_details", "add UPI or bank details first")
            balance = await self.money.balance_in(s, wallet(user.id))
            if balance < self.settings.min_payout_paise:
                raise ApiError(
                    409,
                    "below_minimum",
                    f"the minimum withdrawal is ₹{self.settings.min_payout_paise // 100}"
                    f"; the wallet holds ₹{balance / 100:.2f}",
                )
            this_year = await s.scalar(
                select(func.coalesce(func.sum(Payout.amount_paise), 0)).where(
                    Payout.mentor_id == user.id,
                    Payout.status != "failed",
                    Payout.created_at >= financial_year_start(now),
                )
            )
            tds = tds_on(
                balance,
                int(this_year or 0),
                threshold=self.settings.tds_threshold_paise,
                percent=self.settings.tds_percent,
            )
            record = Payout(
                mentor_id=user.id,
                amount_paise=balance,
                tds_paise=tds,
                status="pending",
                method=account.method,
                reference="",
                batch=batch,
                created_at=now,
            )
            s.add(record)
            await s.flush()
            await self.money.post(s, payout(record.id, user.id, balance, tds))
        return record

    async def of(self, user_id: int) -> list[Payout]:
        async with self.db.read() as s:
            return list(
                await s.scalars(
                    select(Payout)
                    .where(Payout.mentor_id == user_id)
                    .order_by(Payout.created_at.desc())
                )
            )

    async def waiting(self) -> list[tuple[Payout, User, PayoutAccount | None]]:
        async with self.db.read() as s:
            rows = (
                await s.execute(
                    select(Payout, User)
                    .join(User, User.id == Payout.mentor_id)
                    .where(Payout.status.in_(("pending", "processing")))
                    .order_by(Payout.id)
                )
            ).all()
            return [(p, u, await s.get(PayoutAccount, u.id)) for p, u in rows]

    async def settle(self, admin: User, payout_id: int, paid: bool, reference: str) -> Payout:
        """An administrator records the transfer: paid (with the bank reference) or failed
        (in the audit log)."""
        async with self.db.write() as s:
            record = await s.get(Payout, payout_id)
            if record is None:
                raise ApiError(404, "not_found", "no such payout")
            if record.status not in ("pending", "processing"):
                raise ApiError(409, "already_settled", f"this payout is {record.status}")
            if paid and not reference.strip():
                raise ApiError(400, "invalid_field", "the bank reference is required", "reference")
            net = record.amount_paise - record.tds_paise
            if paid:
                await self.money.post(s, payout_paid(record.id, net))
            else:
                await self.money.post(
                    s,
                    payout_failed(
                        record.id, record.mentor_id, record.amount_paise, record.tds_paise
                    ),
                )
            audit.record(
                s,
                admin.id,
                "payout_paid" if paid else "payout_failed",
                ("payout", record.id),
                self.clock(),
                before={"status": record.status},
                after={"status": "completed" if paid else "failed", "reference": reference.strip()},
            )
            record.status = "completed" if paid else "failed"
            record.reference = reference.strip()
            record.settled_at = self.clock()
            events.record(s, "payout_settled", record.id, self.clock(), paid=paid)
        return record

    async def weekly_batch(self) -> int:
        """Pays out every wallet at or above the minimum that has details, once a week."""
        now = self.clock()
        year, week, _day = now.astimezone(INDIA).isocalendar()
        batch = f"{year}-W{week:02d}"
        async with self.db.read() as s:
            accounts = list(await s.scalars(select(PayoutAccount)))
            done = set(await s.scalars(select(Payout.mentor_id).where(Payout.batch == batch)))
        made = 0
        for account in accounts:
            if account.user_id in done:
                continue
            async with self.db.read() as s:
                user = await s.get(User, account.user_id)
            if (
                user is None
                or await self.money.balance(wallet(user.id)) < self.settings.min_payout_paise
            ):
                continue
            try:
                await self.withdraw(user, batch)
                made += 1
            except ApiError:
                continue
        return made


PAYOUTS = web.AppKey("payouts", Payouts)
