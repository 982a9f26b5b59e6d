"""Revenue and activity per day, week or month, drawn from the ledger.

Every money figure is a sum of ledger entries (tables `ledger_transactions` and
`ledger_entries`, rules in billing/ledger.py) whose transaction's `created_at` falls in the
bucket, so the report reconciles to the paisa: over any period, "platform revenue" is exactly
the sum of the `platform_revenue` entries posted in it, and so on.

- gross bookings: money captured for bookings, the `escrow:<booking>` credits of `capture`
  transactions (a mentee's payment) and `sponsor_capture` ones (a free call or credit, paid by
  a sponsor wallet); a payment that is refunded at once, late or of the wrong amount, counts
  here and again under refunds;
- platform revenue: the net movement of `platform_revenue` (commission net of GST, credited by
  `settle` and `refund`, debited by a dispute's `dispute_refund`; it can be negative);
- GST payable: the net movement of `gst_payable` (same transactions);
- TDS payable: the net movement of `tds_payable` (withheld by `payout`, returned by
  `payout_failed`);
- refunds: money owed back when it is decided, the credits to `refunds` (`refund` on a
  cancellation or a mentor's no-show, `dispute_refund`) and, for a free call, a `refund`'s
  credit back to its `sponsor:<id>` wallet; the gateway paying it later (`refund_paid`) is
  not counted again;
- mentor payouts: money taken out of mentors' wallets to be paid out (TDS included), that is
  the `wallet:<mentor>` debits of `payout` less the wallet credits of `payout_failed`;
- calls completed: bookings `completed`, by when the call ended (its booked end if the end
  was not recorded); no-shows: bookings `no_show` (either side), by their booked start.

Buckets are local days, ISO weeks (Monday to Sunday) or calendar months in the time zone asked
for (UTC by default), computed here from one query for the ledger and one for the calls.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import ColumnElement, func, select

from billing.ledger import GST_PAYABLE, PLATFORM_REVENUE, REFUNDS, TDS_PAYABLE
from server.booking.bookings import EARLIEST_YEAR, LATEST_YEAR
from server.booking.mentors import zone
from server.clock import Clock
from server.db.engine import Database
from server.db.models import (
    Base,
    Booking,
    Dispute,
    LedgerEntry,
    LedgerTransaction,
    MentorProfile,
    OutboxMail,
    Payout,
    ReviewReport,
)
from server.http.errors import ApiError
from server.http.routes import QueryParam

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = ("day", "week", "month")
DEFAULT_BUCKETS: dict[Period, int] = {"day": 30, "week": 12, "month": 12}
MAX_BUCKETS = 400
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The query of the revenue page, its CSV and its JSON.
QUERY = (
    QueryParam("period", "day, week (ISO, from Monday) or month; day by default"),
    QueryParam("from", "the first day, YYYY-MM-DD (widened to its week or month)"),
    QueryParam("to", "the last day, YYYY-MM-DD; today by default"),
    QueryParam("tz", "the time zone buckets are cut in (an IANA name); UTC by default"),
)


@dataclass(frozen=True)
class Series:
    key: str  # the JSON key and CSV column; money ones end in _paise
    title: str
    money: bool
    what: str


SERIES = (
    Series("gross_bookings_paise", "Gross bookings", True, "money captured for bookings"),
    Series("platform_revenue_paise", "Platform revenue", True, "commission kept, net of GST"),
    Series("gst_payable_paise", "GST payable", True, "GST on the commission, set aside"),
    Series("tds_payable_paise", "TDS payable", True, "tax withheld from mentor payouts"),
    Series("refunds_paise", "Refunds", True, "money owed back to mentees"),
    Series(
        "mentor_payouts_paise",
        "Mentor payouts",
        True,
        "taken from mentors' wallets to pay out (TDS included), less failed transfers",
    ),
    Series("calls_completed", "Calls completed", False, "calls that ended completed"),
    Series("no_shows", "No-shows", False, "calls one side (or both) never joined"),
)


def series_of(kind: str, account: str, amount: int) -> tuple[str, int] | None:
    """Which series one ledger entry adds to, and how much (see the module docstring)."""
    if kind in ("capture", "sponsor_capture") and account.startswith("escrow:"):
        return "gross_bookings_paise", amount
    if kind == "refund" and account.startswith("sponsor:") and amount > 0:
        return "refunds_paise", amount  # a sponsored call's refund, back to its sponsor
    if account == PLATFORM_REVENUE:
        return "platform_revenue_paise", amount
    if account == GST_PAYABLE:
        return "gst_payable_paise", amount
    if account == TDS_PAYABLE:
        return "tds_payable_paise", amount
    if account == REFUNDS and amount > 0:
        return "refunds_paise", amount
    if kind in ("payout", "payout_failed") and account.startswith("wallet:"):
        return "mentor_payouts_paise", -amount
    return None


# -- the buckets -------------------------------------------------------------------------------


def bucket_start(day: date, period: Period) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def next_start(start: date, period: Period) -> date:
    if period == "week":
        return start + timedelta(weeks=1)
    if period == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=1)


def back(start: date, period: Period, buckets: int) -> date:
    """The start of the bucket `buckets` before the one starting at `start`."""
    if period == "week":
        return start - timedelta(weeks=buckets)
    if period == "month":
        months = start.year * 12 + start.month - 1 - buckets
        return date(months // 12, months % 12 + 1, 1)
    return start - timedelta(days=buckets)


def count_buckets(first: date, last: date, period: Period) -> int:
    """How many buckets of `period` run from the one holding `first` to the one holding
    `last`, counted without making them."""
    a, b = bucket_start(first, period), bucket_start(last, period)
    if period == "month":
        return (b.year - a.year) * 12 + b.month - a.month + 1
    return (b - a).days // (7 if period == "week" else 1) + 1


def labels(start: date, period: Period) -> tuple[str, str]:
    """(the bucket's ISO name for JSON and CSV, a short one for a chart's axis)."""
    if period == "week":
        year, week, _day = start.isocalendar()
        return f"{year}-W{week:02d}", start.strftime("%d %b")
    if period == "month":
        return start.strftime("%Y-%m"), start.strftime("%b %Y")
    return start.isoformat(), start.strftime("%d %b")


@dataclass(frozen=True)
class Window:
    """The buckets asked for: whole days, weeks or months, `first` to `last` (local dates,
    both included) in `tz`."""

    period: Period
    tz: str
    first: date
    last: date

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def instant(self, day: date) -> datetime:
        """The UTC instant `day` starts at in the window's zone."""
        return datetime(day.year, day.month, day.day, tzinfo=self.zone).astimezone(UTC)

    @property
    def starts_at(self) -> datetime:
        return self.instant(self.first)

    @property
    def ends_at(self) -> datetime:
        """The end, excluded: the start of the day after `last`."""
        return self.instant(self.last + timedelta(days=1))

    def starts(self) -> list[date]:
        found, start = [], self.first
        while start <= self.last:
            found.append(start)
            start = next_start(start, self.period)
        return found

    def query(self) -> dict[str, str]:
        """The query string that asks for this window again (links, the CSV)."""
        return {
            "period": self.period,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "tz": self.tz,
        }


def _date(params: Mapping[str, str], name: str) -> date | None:
    text = params.get(name, "")
    if not text:
        return None
    try:
        if not ISO_DATE.match(text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "invalid_field", "must be a date: YYYY-MM-DD", name) from None
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise ApiError(
            400, "invalid_field", f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}", name
        )
    return day


def window_of(params: Mapping[str, str], now: datetime) -> Window:
    """The window a query asks for (`period`, `from`, `to`, `tz`, each optional; empty means
    absent), or a 400 naming the bad parameter. `from` and `to` widen to whole buckets; by
    default the window ends with today's bucket and holds DEFAULT_BUCKETS of them."""
    period = params.get("period") or "day"
    if period not in PERIODS:
        raise ApiError(400, "invalid_field", "must be day, week or month", "period")
    tz = params.get("tz") or "UTC"
    today = now.astimezone(zone(tz, "tz")).date()
    first, last = _date(params, "from"), _date(params, "to")
    last = last or today
    if first is None:
        first = back(bucket_start(last, period), period, DEFAULT_BUCKETS[period] - 1)
    if first > last:
        raise ApiError(400, "invalid_field", f"is after the end ({last.isoformat()})", "from")
    if count_buckets(first, last, period) > MAX_BUCKETS:
        raise ApiError(
            400, "invalid_field", f"at most {MAX_BUCKETS} {period}s in one report", "from"
        )
    end = next_start(bucket_start(last, period), period) - timedelta(days=1)
    return Window(period, tz, bucket_start(first, period), end)


# -- the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    start: date
    end: date  # its last day, included
    label: str  # 2026-11-21, 2026-W47 or 2026-11
    short: str  # 21 Nov, 16 Nov (the Monday) or Nov 2026
    values: dict[str, int]


@dataclass(frozen=True)
class Report:
    window: Window
    buckets: list[Bucket]
    totals: dict[str, int]


@dataclass(frozen=True)
class Waiting:
    """What waits for an administrator, counted straight from the tables."""

    open_disputes: int
    reports_waiting: int
    applications_pending: int
    payouts_to_transfer: int
    mail_failed: int


class Reports:
    def __init__(self, db: Database, *, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def window(self, params: Mapping[str, str]) -> Window:
        return window_of(params, self.clock())

    async def report(self, window: Window) -> Report:
        starts = window.starts()
        index = {start: i for i, start in enumerate(starts)}
        values = [dict.fromkeys((s.key for s in SERIES), 0) for _ in starts]

        def add(at: datetime, key: str, amount: int) -> None:
            if window.starts_at <= at < window.ends_at:
                day = at.astimezone(window.zone).date()
                values[index[bucket_start(day, window.period)]][key] += amount

        async with self.db.read() as s:
            entries = (
                await s.execute(
                    select(
                        LedgerTransaction.created_at,
                        LedgerTransaction.kind,
                        LedgerEntry.account,
                        LedgerEntry.amount_paise,
                    )
                    .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
                    .where(
                        LedgerTransaction.created_at >= window.starts_at,
                        LedgerTransaction.created_at < window.ends_at,
                    )
                )
            ).all()
            calls = (
                await s.execute(
                    select(
                        Booking.status,
                        Booking.starts_at,
                        Booking.duration_seconds,
                        Booking.call_ended_at,
                    ).where(
                        Booking.status.in_(("completed", "no_show")),
                        # a call ending in the window started at most a day before it
                        Booking.starts_at >= window.starts_at - timedelta(days=1),
                        Booking.starts_at < window.ends_at,
                    )
                )
            ).all()
        for at, kind, account, amount in entries:
            if (found := series_of(kind, account, amount)) is not None:
                add(at, *found)
        for status, starts_at, duration, ended_at in calls:
            if status == "no_show":
                add(starts_at, "no_shows", 1)
            else:
                add(ended_at or starts_at + timedelta(seconds=duration), "calls_completed", 1)
        buckets = []
        for start, figures in zip(starts, values, strict=True):
            label, short = labels(start, window.period)
            end = next_start(start, window.period) - timedelta(days=1)
            buckets.append(Bucket(start, end, label, short, figures))
        totals = {s.key: sum(b.values[s.key] for b in buckets) for s in SERIES}
        return Report(window, buckets, totals)

    async def waiting(self) -> Waiting:
        async with self.db.read() as s:

            async def count(table: type[Base], *where: ColumnElement[bool]) -> int:
                query = select(func.count()).select_from(table).where(*where)
                return int(await s.scalar(query) or 0)

            return Waiting(
                open_disputes=await count(Dispute, Dispute.status == "open"),
                reports_waiting=await count(ReviewReport, ReviewReport.decided_at.is_(None)),
                applications_pending=await count(MentorProfile, MentorProfile.status == "pending"),
                payouts_to_transfer=await count(
                    Payout, Payout.status.in_(("pending", "processing"))
                ),
                mail_failed=await count(OutboxMail, OutboxMail.failed_at.is_not(None)),
            )


def rupees_column(paise: int) -> str:
    """1234.50: rupees with two decimals, as spreadsheets read them."""
    sign = "-" if paise < 0 else ""
    return f"{sign}{abs(paise) // 100}.{abs(paise) % 100:02d}"


def csv_of(report: Report) -> str:
    """The report as CSV: a header, one row per bucket, a totals row. Money is in paise (the
    `_paise` columns) and in rupees (the `_rupees` columns, two decimals)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = ["bucket", "from", "to"]
    for s in SERIES:
        header += [s.key, s.key.removesuffix("_paise") + "_rupees"] if s.money else [s.key]
    writer.writerow(header)

    def row(label: str, first: date, last: date, figures: dict[str, int]) -> list[str]:
        cells = [label, first.isoformat(), last.isoformat()]
        for s in SERIES:
            value = figures[s.key]
            cells += [str(value), rupees_column(value)] if s.money else [str(value)]
        return cells

    for bucket in report.buckets:
        writer.writerow(row(bucket.label, bucket.start, bucket.end, bucket.values))
    writer.writerow(row("total", report.window.first, report.window.last, report.totals))
    return out.getvalue()


REPORTS = web.AppKey("reports", Reports)
