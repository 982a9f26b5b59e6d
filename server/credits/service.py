"""Free calls and credits (issue 21): campus addresses, sponsors and their wallets, and paying a
booking from a sponsor wallet instead of a card.

- A student confirms a campus address (a domain in `[accounts] campus_domains`) by the link
  mailed to it; the mail goes through the outbox in the same transaction as the request.
- A sponsor (an institution, set up by an administrator) covers the verified addresses of its
  domains, by its rule (server/credits/allowance.py), from its wallet, which an administrator
  tops up by recording the institution's transfer (ledger `sponsor_topup`).
- A covered booking is paid by `sponsor_capture` (the wallet into the booking's escrow) and
  then moves like any paid booking: the mentor's share on settling is a card payment's; a
  refund goes back to the sponsor wallet, and a full one gives the free call or credit back.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

from aiohttp import web
from sqlalchemy import and_, func, not_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from billing import flows
from billing.ledger import sponsor, sponsor_topup
from server.accounts.service import EMAIL_PATTERN, normalize_email
from server.clock import Clock
from server.config import CreditSettings
from server.credits.allowance import Allowance, Rule, allowance
from server.credits.tables import CampusAddress, CreditUse, Sponsor, SponsorTopUp
from server.db import audit, events
from server.db.engine import Database
from server.db.models import Booking, OutboxMail, User
from server.http.errors import ApiError, too_many
from server.payments.money import Money, money_of, store_money

# A new link at most this often per student (each is a mail).
RESEND_AFTER = timedelta(seconds=60)
MIN_TOPUP_PAISE = 100  # ₹1
MAX_TOPUP_PAISE = 100_000_000  # ₹10 lakh in one recorded transfer


@dataclass(frozen=True)
class CampusAddressFields:
    email: str = field(metadata={"max_length": 254, "description": "an address on a campus domain"})


@dataclass(frozen=True)
class Confirmation:
    token: str = field(metadata={"min_length": 1, "max_length": 100})


@dataclass(frozen=True)
class SponsorFields:
    name: str = field(metadata={"min_length": 1, "max_length": 120})
    domains: list[str] = field(
        metadata={"max_items": 20, "description": "campus email domains, at least one"}
    )
    rule: Literal["weekly", "term"] = "weekly"
    free_calls: int = field(
        default=2, metadata={"minimum": 0, "maximum": 100, "description": "weekly: per window"}
    )
    term_credits: int = field(default=0, metadata={"minimum": 0, "maximum": 1000})
    term_starts: str = field(default="", metadata={"description": "term: YYYY-MM-DD"})
    term_ends: str = field(default="", metadata={"description": "term: YYYY-MM-DD, exclusive"})
    active: bool = True


@dataclass(frozen=True)
class TopUpFields:
    amount_paise: int = field(metadata={"description": "in paise: ₹1 (100) to ₹10 lakh"})
    reference: str = field(
        metadata={"min_length": 1, "max_length": 100, "description": "the transfer's reference"}
    )


@dataclass(frozen=True)
class Standing:
    """What a user may pay with besides a card, for pages and GET /api/me/credits."""

    campus_email: str | None
    verified: bool
    sponsor: Sponsor | None
    allowance: Allowance | None
    funded: bool  # the sponsor wallet holds money (a call's own price is checked when paid)

    @property
    def usable(self) -> bool:
        return self.allowance is not None and self.allowance.left > 0 and self.funded

    def json(self) -> dict[str, Any]:
        a = self.allowance
        return {
            "campus_email": self.campus_email,
            "verified": self.verified,
            "sponsor": {"id": self.sponsor.id, "name": self.sponsor.name} if self.sponsor else None,
            "kind": a.kind if a else None,
            "limit": a.limit if a else 0,
            "used": a.used if a else 0,
            "left": a.left if a else 0,
            "renews_at": iso(a.renews_at) if a else None,
            "term_ends": iso(a.term_ends) if a else None,
            "funded": self.funded,
            "usable": self.usable,
        }


def iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def domain_of(email: str) -> str:
    return email.rsplit("@", 1)[-1]


def on_domain(email: str, domains: list[str] | tuple[str, ...]) -> bool:
    """The address is on one of the domains or a subdomain of one (cs.campus.edu)."""
    host = domain_of(email)
    return any(host == d or host.endswith("." + d) for d in domains)


def counted_uses() -> Any:
    """Uses still counted: not given back by a full refund of their booking."""
    given_back = and_(Booking.refund_paise.is_not(None), Booking.refund_paise >= Booking.paid_paise)
    return (
        select(CreditUse.used_at)
        .join(Booking, Booking.id == CreditUse.booking_id)
        .where(not_(given_back))
    )


class Credits:
    def __init__(
        self,
        db: Database,
        money: Money,
        settings: CreditSettings,
        campus_domains: tuple[str, ...],
        *,
        clock: Clock,
        base_url: str,
    ) -> None:
        self.db = db
        self.money = money
        self.settings = settings
        self.campus_domains = tuple(d.strip().lower() for d in campus_domains if d.strip())
        self.clock = clock
        self.base_url = base_url.rstrip("/")

    @property
    def enabled(self) -> bool:
        return bool(self.campus_domains)

    # -- campus addresses ---------------------------------------------------------------------

    async def request_link(self, user: User, fields: CampusAddressFields) -> CampusAddress:
        """Stores the address unconfirmed and mails it a confirmation link (through the
        outbox, in the same transaction)."""
        email = normalize_email(fields.email)
        if not email:
            raise ApiError(400, "invalid_field", "enter your campus email address", "email")
        if not EMAIL_PATTERN.match(email):
            raise ApiError(400, "invalid_field", "is not an email address", "email")
        if not self.campus_domains:
            raise ApiError(409, "no_campus_domains", "this server has no campus domains set up")
        if not on_domain(email, self.campus_domains):
            listed = ", ".join(self.campus_domains)
            raise ApiError(
                400, "not_campus_domain", f"use an address on a campus domain: {listed}", "email"
            )
        now = self.clock()
        token = secrets.token_urlsafe(24)
        async with self.db.write() as s:
            taken = await s.scalar(
                select(CampusAddress.user_id).where(
                    CampusAddress.email == email,
                    CampusAddress.verified_at.is_not(None),
                    CampusAddress.user_id != user.id,
                )
            )
            if taken is not None:
                raise ApiError(
                    409, "address_taken", "another account confirmed this address", "email"
                )
            row = await s.get(CampusAddress, user.id)
            if row is not None and row.requested_at > now - RESEND_AFTER:
                wait = int((row.requested_at + RESEND_AFTER - now).total_seconds()) + 1
                raise too_many(wait, "a confirmation link was sent a moment ago")
            if row is None:
                row = CampusAddress(user_id=user.id, email=email, requested_at=now)
                s.add(row)
            if row.email != email:
                row.verified_at = None  # a new address must be confirmed again
            row.email, row.token_hash, row.requested_at = email, token_hash(token), now
            s.add(self._link_mail(user, email, token, now))
        return row

    def _link_mail(self, user: User, email: str, token: str, now: datetime) -> OutboxMail:
        hours = self.settings.link_hours
        return OutboxMail(
            user_id=user.id,
            kind="campus_link",
            to_address=email,
            subject="Confirm your campus address on micromentor",
            body=f"Hello {user.name},\n\nOpen this link to confirm {email} as your campus "
            f"address:\n\n{self.base_url}/campus/confirm?token={token}\n\nIt works for "
            f"{hours} hours. If you did not ask for it, ignore this mail.",
            created_at=now,
            next_attempt_at=now,
        )

    async def confirm(self, token: str) -> CampusAddress:
        """The mailed link: confirms the address it was sent to."""
        now = self.clock()
        try:
            async with self.db.write() as s:
                row = await s.scalar(
                    select(CampusAddress).where(CampusAddress.token_hash == token_hash(token))
                )
                if row is not None and row.verified_at is not None:
                    return row  # opened again (or a mail scanner opened it first): still fine
                expired = now - timedelta(hours=self.settings.link_hours)
                if row is None or row.requested_at < expired:
                    raise ApiError(
                        404, "link_expired", "this link is not valid any more; ask for a new one"
                    )
                row.verified_at = now  # the token stays, so opening the link again says so
        except IntegrityError:
            raise ApiError(409, "address_taken", "another account confirmed this address") from None
        return row

    # -- what a student may use ---------------------------------------------------------------

    async def standing(self, user: User) -> Standing:
        async with self.db.read() as s:
            return await self._standing(s, user.id)

    async def _standing(self, s: AsyncSession, user_id: int) -> Standing:
        address = await s.get(CampusAddress, user_id)
        verified = address is not None and address.verified_at is not None
        if address is None or not verified:
            email = address.email if address else None
            return Standing(email, False, None, None, False)
        chosen = None
        for candidate in await s.scalars(
            select(Sponsor).where(Sponsor.active.is_(True)).order_by(Sponsor.id)
        ):
            if on_domain(address.email, candidate.domain_list):
                chosen = candidate
                break
        if chosen is None:
            return Standing(address.email, True, None, None, False)
        uses = list(
            await s.scalars(
                counted_uses().where(
                    CreditUse.user_id == user_id, CreditUse.sponsor_id == chosen.id
                )
            )
        )
        rule = self.rule_of(chosen)
        balance = await self.money.balance_in(s, sponsor(chosen.id))
        return Standing(
            address.email, True, chosen, allowance(rule, uses, self.clock()), balance > 0
        )

    def rule_of(self, row: Sponsor) -> Rule:
        return Rule(
            kind="term" if row.rule == "term" else "weekly",
            free_calls=row.free_calls,
            window=timedelta(days=self.settings.window_days),
            term_credits=row.term_credits,
            term_starts=row.term_starts,
            term_ends=row.term_ends,
        )

    async def check(self, user: User) -> None:
        """Before holding a slot: a 409 saying why this user cannot use a free call now."""
        refusal = why_not(await self.standing(user), None)
        if refusal:
            raise refusal

    async def cover(self, booking: Booking) -> dict[str, Any]:
        """Pays the new booking from the mentee's sponsor: one free call or credit is used, the
        wallet pays the escrow and the booking is confirmed, all in one transaction."""
        now = self.clock()
        async with self.db.write() as s:
            if not self.db.is_sqlite:  # one student's bookings, one sponsor's wallet at a time
                await s.execute(
                    select(User.id).where(User.id == booking.mentee_id).with_for_update()
                )
            row = await s.get(Booking, booking.id)
            assert row is not None
            standing = await self._standing(s, row.mentee_id)
            if standing.sponsor is not None and not self.db.is_sqlite:
                await s.execute(
                    select(Sponsor.id).where(Sponsor.id == standing.sponsor.id).with_for_update()
                )
            balance = (
                await self.money.balance_in(s, sponsor(standing.sponsor.id))
                if standing.sponsor
                else 0
            )
            refusal = why_not(standing, balance - row.amount_paise)
            if refusal:
                raise refusal
            assert standing.sponsor is not None and standing.allowance is not None
            if row.status != "pending_payment":
                raise ApiError(409, "not_payable", "this booking is not waiting for payment")
            money, posted = flows.on_sponsored(money_of(row), standing.sponsor.id, self.money.rules)
            for transaction in posted:
                await self.money.post(s, transaction, row.id)
            store_money(row, money)
            row.status, row.hold_expires_at = "confirmed", None
            s.add(
                CreditUse(
                    booking_id=row.id,
                    user_id=row.mentee_id,
                    sponsor_id=standing.sponsor.id,
                    kind=standing.allowance.kind,
                    used_at=now,
                )
            )
            events.record(s, "booking_confirmed", row.id, now)
            kind = standing.allowance.kind
            name = standing.sponsor.name
        return {
            "covered_by": {"kind": kind, "sponsor": name},
            "checkout_url": f"/dashboard?paid={booking.id}",
        }

    # -- sponsors (administrators) ------------------------------------------------------------

    def _checked(self, fields: SponsorFields) -> tuple[str, datetime | None, datetime | None]:
        domains = sorted({d.strip().lower() for d in fields.domains if d.strip()})
        unknown = [d for d in domains if d not in self.campus_domains]
        if not domains or unknown or len(",".join(domains)) > 500:
            listed = ", ".join(self.campus_domains) or "none (set [accounts] campus_domains)"
            raise ApiError(
                400, "invalid_field", f"use the campus domains this server has: {listed}", "domains"
            )
        starts = parse_day(fields.term_starts, "term_starts")
        ends = parse_day(fields.term_ends, "term_ends")
        if fields.rule == "term" and (starts is None or ends is None or ends <= starts):
            raise ApiError(
                400, "invalid_field", "a term needs a start and a later end", "term_ends"
            )
        return ",".join(domains), starts, ends

    async def create_sponsor(self, admin: User, fields: SponsorFields) -> Sponsor:
        domains, starts, ends = self._checked(fields)
        now = self.clock()
        async with self.db.write() as s:
            if fields.active:
                await _refuse_covered(s, domains, None)
            row = Sponsor(
                name=fields.name.strip(),
                domains=domains,
                rule=fields.rule,
                free_calls=fields.free_calls,
                term_credits=fields.term_credits,
                term_starts=starts,
                term_ends=ends,
                active=fields.active,
                created_at=now,
            )
            s.add(row)
            await s.flush()
            audit.record(
                s, admin.id, "sponsor_created", ("sponsor", row.id), now, after=_shown(row)
            )
        return row

    async def update_sponsor(self, admin: User, sponsor_id: int, fields: SponsorFields) -> Sponsor:
        domains, starts, ends = self._checked(fields)
        now = self.clock()
        async with self.db.write() as s:
            row = await s.get(Sponsor, sponsor_id)
            if row is None:
                raise ApiError(404, "not_found", "no such sponsor")
            if fields.active:
                await _refuse_covered(s, domains, row.id)
            before = _shown(row)
            row.name, row.domains, row.rule = fields.name.strip(), domains, fields.rule
            row.free_calls, row.term_credits = fields.free_calls, fields.term_credits
            row.term_starts, row.term_ends, row.active = starts, ends, fields.active
            after = _shown(row)
            changed = {k for k in after if before[k] != after[k]}
            audit.record(
                s,
                admin.id,
                "sponsor_changed",
                ("sponsor", row.id),
                now,
                before={k: before[k] for k in changed},
                after={k: after[k] for k in changed},
            )
        return row

    async def top_up(self, admin: User, sponsor_id: int, fields: TopUpFields) -> SponsorTopUp:
        if not MIN_TOPUP_PAISE <= fields.amount_paise <= MAX_TOPUP_PAISE:
            raise ApiError(
                400, "invalid_field", "enter an amount from ₹1 to ₹10,00,000", "amount_paise"
            )
        now = self.clock()
        async with self.db.write() as s:
            if await s.get(Sponsor, sponsor_id) is None:
                raise ApiError(404, "not_found", "no such sponsor")
            row = SponsorTopUp(
                sponsor_id=sponsor_id,
                amount_paise=fields.amount_paise,
                reference=fields.reference.strip(),
                recorded_by=admin.id,
                recorded_at=now,
            )
            s.add(row)
            await s.flush()
            await self.money.post(s, sponsor_topup(row.id, sponsor_id, row.amount_paise))
            audit.record(
                s,
                admin.id,
                "sponsor_topped_up",
                ("sponsor", sponsor_id),
                now,
                after={"amount_paise": row.amount_paise, "reference": row.reference},
            )
        return row

    async def sponsors(self) -> list[dict[str, Any]]:
        async with self.db.read() as s:
            rows = list(await s.scalars(select(Sponsor).order_by(Sponsor.id)))
            used = dict(
                (
                    await s.execute(
                        select(CreditUse.sponsor_id, func.count()).group_by(CreditUse.sponsor_id)
                    )
                ).all()
            )
            return [
                {
                    **sponsor_json(row),
                    "balance_paise": await self.money.balance_in(s, sponsor(row.id)),
                    "calls_covered": used.get(row.id, 0),
                }
                for row in rows
            ]

    async def sponsor(self, sponsor_id: int) -> dict[str, Any]:
        async with self.db.read() as s:
            row = await s.get(Sponsor, sponsor_id)
            if row is None:
                raise ApiError(404, "not_found", "no such sponsor")
            topups = list(
                await s.scalars(
                    select(SponsorTopUp)
                    .where(SponsorTopUp.sponsor_id == sponsor_id)
                    .order_by(SponsorTopUp.id.desc())
                    .limit(50)
                )
            )
            uses = (
                await s.execute(
                    select(CreditUse, Booking)
                    .join(Booking, Booking.id == CreditUse.booking_id)
                    .where(CreditUse.sponsor_id == sponsor_id)
                    .order_by(CreditUse.used_at.desc())
                    .limit(50)
                )
            ).all()
            balance = await self.money.balance_in(s, sponsor(sponsor_id))
        return {
            **sponsor_json(row),
            "balance_paise": balance,
            "topups": [
                {
                    "id": t.id,
                    "amount_paise": t.amount_paise,
                    "reference": t.reference,
                    "recorded_at": iso(t.recorded_at),
                }
                for t in topups
            ],
            "uses": [
                {
                    "booking_id": use.booking_id,
                    "kind": use.kind,
                    "used_at": iso(use.used_at),
                    "amount_paise": booking.paid_paise,
                    "given_back": booking.refund_paise is not None
                    and booking.refund_paise >= booking.paid_paise,
                }
                for use, booking in uses
            ],
        }


async def _refuse_covered(s: AsyncSession, domains: str, other_than: int | None) -> None:
    """A 409 when another active sponsor already covers one of the domains: each student has
    one sponsor, so whose wallet pays is never a guess. (SQLite serialises writers; on
    PostgreSQL two administrators saving the same domain at the same instant could both pass.)"""
    wanted = set(domains.split(","))
    for other in await s.scalars(select(Sponsor).where(Sponsor.active.is_(True))):
        shared = wanted & set(other.domain_list)
        if other.id != other_than and shared:
            raise ApiError(
                409,
                "domain_covered",
                f"{', '.join(sorted(shared))} is already covered by {other.name}; pause it first",
                "domains",
            )


def why_not(standing: Standing, balance_after: int | None) -> ApiError | None:
    """Why the standing cannot pay a call (None: it can). `balance_after`: the wallet less the
    booking's price, when known."""
    if not standing.verified:
        return ApiError(
            409, "campus_unverified", "confirm your campus email address to use free calls"
        )
    if standing.sponsor is None or standing.allowance is None:
        return ApiError(409, "no_sponsor", "no institution sponsors calls for your campus")
    a = standing.allowance
    if a.left <= 0:
        what = "free calls this week" if a.kind == "free_call" else "credits this term"
        return ApiError(409, "none_left", f"you have no {what} left; pay by card instead")
    if not standing.funded or (balance_after is not None and balance_after < 0):
        return ApiError(
            409, "sponsor_out_of_funds", "your institution's sponsor wallet is empty; pay by card"
        )
    return None


def parse_day(text: str, name: str) -> datetime | None:
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ApiError(400, "invalid_field", "must be a date, YYYY-MM-DD", name) from None
    return datetime.combine(day, time(0), UTC)


def sponsor_json(row: Sponsor) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "domains": row.domain_list,
        "rule": row.rule,
        "free_calls": row.free_calls,
        "term_credits": row.term_credits,
        "term_starts": iso(row.term_starts),
        "term_ends": iso(row.term_ends),
        "active": row.active,
    }


def _shown(row: Sponsor) -> dict[str, Any]:
    """What the audit log keeps of a sponsor's settings."""
    shown = sponsor_json(row)
    shown.pop("id")
    shown["domains"] = row.domains
    return shown


CREDITS = web.AppKey("credits", Credits)
