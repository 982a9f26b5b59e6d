"""Mentors: profiles (which start as applications), review by administrators, availability,
photos, and discovery. No HTTP here."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import zoneinfo
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from sqlalchemy import delete, func, or_, select

from server.booking import photos
from server.booking.bookings import EARLIEST_YEAR, LATEST_YEAR, Bookings, parse_instant
from server.clock import Clock
from server.db import audit, events
from server.db.engine import Database
from server.db.models import AvailabilityWindow, BlockedPeriod, Booking, MentorProfile, User
from server.http.errors import ApiError
from server.reviews.service import ratings
from server.reviews.stats import Rating, damped, prior_mean

HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
Sort = Literal["relevance", "rating", "price", "sessions"]


@dataclass(frozen=True)
class ProfileFields:
    headline: str = field(metadata={"min_length": 1, "max_length": 120})
    bio: str = field(metadata={"max_length": 2000})
    skills: list[str] = field(metadata={"max_items": 15})
    institution: str = field(default="", metadata={"max_length": 120})
    languages: list[str] = field(default_factory=list, metadata={"max_items": 10})
    price_paise: int | None = field(
        default=None,
        metadata={
            "minimum": 0,
            "maximum": 10_000_000,
            "description": "price per call; default [billing] price_paise",
        },
    )
    allow_recording: bool | None = field(
        default=None,
        metadata={"description": "mentees may ask for a recording (default true; null keeps)"},
    )


@dataclass(frozen=True)
class WeeklyWindow:
    weekday: int = field(metadata={"minimum": 0, "maximum": 6, "description": "0 is Monday"})
    start: str = field(metadata={"description": "HH:MM, mentor's local time"})
    end: str = field(metadata={"description": "HH:MM (24:00 for midnight)"})


@dataclass(frozen=True)
class BlockedSpan:
    start: str = field(metadata={"format": "date-time"})
    end: str = field(metadata={"format": "date-time"})


@dataclass(frozen=True)
class AvailabilityFields:
    timezone: str = field(metadata={"description": "an IANA zone, e.g. Asia/Kolkata"})
    weekly: list[WeeklyWindow] = field(metadata={"max_items": 100})
    blocked: list[BlockedSpan] = field(default_factory=list, metadata={"max_items": 200})
    vacation: bool = False


@dataclass(frozen=True)
class Rejection:
    note: str = field(metadata={"min_length": 1, "max_length": 500})


@dataclass(frozen=True)
class MentorQuery:
    q: str = field(
        default="", metadata={"max_length": 100, "description": "words in name, headline or skills"}
    )
    skill: str = field(default="", metadata={"max_length": 40})
    min_rating: float = field(
        default=0, metadata={"minimum": 0, "description": "the lowest shown average (1 decimal)"}
    )
    max_price_paise: int | None = field(default=None, metadata={"minimum": 0})
    available_on: str = field(default="", metadata={"description": "YYYY-MM-DD in `tz`"})
    tz: str = field(default="UTC", metadata={"description": "the viewer's IANA time zone"})
    sort: Sort = "relevance"
    favourites: Literal["0", "1", "false", "true"] = field(
        default="0", metadata={"description": "`1` or `true`: only your favourites (logged in)"}
    )
    page: int = field(default=1, metadata={"minimum": 1})
    per_page: int = field(default=20, metadata={"minimum": 1, "maximum": 100})

    @property
    def favourites_only(self) -> bool:
        return self.favourites in ("1", "true")


def _clean_list(values: list[str], name: str, limit: int = 40) -> list[str]:
    cleaned: list[str] = []
    for value in values:
        text = " ".join(value.split())
        if not text:
            continue
        if len(text) > limit:
            raise ApiError(400, "invalid_field", f"each must be at most {limit} characters", name)
        if text.lower() not in (c.lower() for c in cleaned):
            cleaned.append(text)
    return cleaned


def skills_key(skills: list[str]) -> str:
    return "|" + "|".join(s.lower() for s in skills) + "|"


def parse_hhmm(text: str, name: str) -> int:
    match = HHMM.match(text)
    if not match:
        raise ApiError(400, "invalid_field", "must be HH:MM", name)
    if text == "24:00":
        return 1440
    return int(match.group(1)) * 60 + int(match.group(2))


# Old names the tz database keeps as links (browsers still report some): the current name.
ZONE_ALIASES = {
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Rangoon": "Asia/Yangon",
    "Asia/Dacca": "Asia/Dhaka",
    "Asia/Thimbu": "Asia/Thimphu",
    "Asia/Ulan_Bator": "Asia/Ulaanbaatar",
    "Europe/Kiev": "Europe/Kyiv",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "Pacific/Truk": "Pacific/Chuuk",
    "Atlantic/Faeroe": "Atlantic/Faroe",
}
REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)


def canonical_zone(name: str) -> str:
    return ZONE_ALIASES.get(name, name)


@functools.cache
def zone_names() -> list[str]:
    """The zones a person picks from: regional names and UTC, without the old aliases."""
    names = {canonical_zone(n) for n in zoneinfo.available_timezones() if n.startswith(REGIONS)}
    return ["UTC", *sorted(names)]


def zone(name: str, field_name: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name far too long
        raise ApiError(
            400, "invalid_field", "is not a known time zone (IANA name)", field_name
        ) from None


@dataclass(frozen=True)
class MentorCard:
    profile: MentorProfile
    name: str
    sessions: int
    next_free_slot: datetime | None
    rating: Rating = field(default_factory=Rating)


class Mentors:
    def __init__(
        self,
        db: Database,
        bookings: Bookings,
        *,
        clock: Clock,
        default_price_paise: int,
        photo_dir: Path,
    ) -> None:
        self.db = db
        self.bookings = bookings
        self.clock = clock
        self.default_price = default_price_paise
        self.photo_dir = photo_dir

    # -- profile and application ----------------------------------------------------------------

    async def apply(self, user: User, fields: ProfileFields) -> MentorProfile:
        """Creates the application, or updates the profile; a rejected one is pending again."""
        skills = _clean_list(fields.skills, "skills")
        if not skills:
            raise ApiError(400, "invalid_field", "name at least one skill", "skills")
        languages = _clean_list(fields.languages, "languages")
        now = self.clock()
        async with self.db.write() as s:
            profile = await s.get(MentorProfile, user.id)
            if profile is None:
                profile = MentorProfile(
                    user_id=user.id,
                    status="pending",
                    applied_at=now,
                    review_note="",
                    timezone="Asia/Kolkata",
                    vacation=False,
                )
                s.add(profile)
            elif profile.status == "rejected":
                profile.status, profile.applied_at, profile.review_note = "pending", now, ""
            profile.headline = fields.headline.strip()
            profile.bio = fields.bio.strip()
            profile.skills = skills
            profile.skills_key = skills_key(skills)
            profile.institution = fields.institution.strip()
            profile.languages = languages
            profile.price_paise = (
                fields.price_paise
                if fields.price_paise is not None
                else profile.price_paise
                if profile.price_paise is not None
                else self.default_price
            )
            if fields.allow_recording is not None:
                profile.allow_recording = fields.allow_recording
            elif profile.allow_recording is None:  # a new profile
                profile.allow_recording = True
        return profile

    async def profile(self, user_id: int) -> MentorProfile | None:
        async with self.db.read() as s:
            return await s.get(MentorProfile, user_id)

    async def applications(
        self, status: str | None, page: int, per_page: int
    ) -> tuple[list[tuple[MentorProfile, User]], int]:
        query = select(MentorProfile, User).join(User, User.id == MentorProfile.user_id)
        count = select(func.count()).select_from(MentorProfile)
        if status:
            query = query.where(MentorProfile.status == status)
            count = count.where(MentorProfile.status == status)
        async with self.db.read() as s:
            total = int(await s.scalar(count) or 0)
            rows = await s.execute(
                query.order_by(MentorProfile.applied_at)
                .offset((page - 1) * per_page)
                .limit(per_page)
            )
            return [(p, u) for p, u in rows.all()], total

    async def review(self, admin: User, mentor_id: int, approve: bool, note: str) -> MentorProfile:
        """An administrator approves or rejects the application (in the audit log)."""
        async with self.db.write() as s:
            profile = await s.get(MentorProfile, mentor_id)
            if profile is None:
                raise ApiError(404, "not_found", "no such mentor application")
            audit.record(
                s,
                admin.id,
                "mentor_approved" if approve else "mentor_rejected",
                ("user", mentor_id),
                self.clock(),
                before={"status": profile.status},
                after={"status": "approved" if approve else "rejected"},
                note=note.strip(),
            )
            profile.status = "approved" if approve else "rejected"
            profile.review_note = note.strip()
            profile.reviewed_at = self.clock()
            events.record(s, "application_decided", mentor_id, self.clock(), approved=approve)
            if approve:
                user = await s.get(User, mentor_id)
                if user is not None and user.role == "mentee":
                    user.role = "both"  # an approved mentor keeps booking as a mentee too
        return profile

    async def save_photo(self, user_id: int, data: bytes) -> str:
        """Checks the photo, then stores it and points the profile at it; the photo it
        replaces is deleted. Nothing is written for a user without a mentor profile."""
        if await self.profile(user_id) is None:
            raise ApiError(409, "no_profile", "apply as a mentor before adding a photo")
        try:
            kind = photos.checked_kind(data)
        except photos.PhotoRefused as exc:
            code = {413: "payload_too_large", 415: "unsupported_media_type"}
            status, message = exc.status, exc.message
            raise ApiError(status, code.get(status, "invalid_field"), message, "photo") from None
        name = f"{user_id}-{hashlib.sha256(data).hexdigest()[:16]}.{kind}"
        await asyncio.to_thread(photos.store, self.photo_dir, name, data)
        async with self.db.write() as s:
            profile = await s.get(MentorProfile, user_id)
            old = profile.photo if profile is not None else None
            if profile is not None:
                profile.photo = name
        if profile is None:  # the profile went away while we wrote
            (self.photo_dir / name).unlink(missing_ok=True)
            raise ApiError(409, "no_profile", "apply as a mentor before adding a photo")
        if old and old != name:
            (self.photo_dir / old).unlink(missing_ok=True)
        return name

    # -- availability ---------------------------------------------------------------------------

    async def set_availability(self, user: User, fields: AvailabilityFields) -> None:
        zone(fields.timezone)
        fields = replace(fields, timezone=canonical_zone(fields.timezone))
        windows = []
        for i, window in enumerate(fields.weekly):
            start = parse_hhmm(window.start, f"weekly[{i}].start")
            end = parse_hhmm(window.end, f"weekly[{i}].end")
            if start >= end:
                raise ApiError(400, "invalid_field", "must end after it starts", f"weekly[{i}].end")
            windows.append(
                AvailabilityWindow(
                    mentor_id=user.id, weekday=window.weekday, start_minute=start, end_minute=end
                )
            )
        blocked = []
        for i, span in enumerate(fields.blocked):
            start_at = parse_instant(span.start, f"blocked[{i}].start")
            end_at = parse_instant(span.end, f"blocked[{i}].end")
            if start_at >= end_at:
                raise ApiError(
                    400, "invalid_field", "must end after it starts", f"blocked[{i}].end"
                )
            blocked.append(BlockedPeriod(mentor_id=user.id, starts_at=start_at, ends_at=end_at))
        async with self.db.write() as s:
            profile = await s.get(MentorProfile, user.id)
            if profile is None:
                raise ApiError(403, "not_a_mentor", "apply as a mentor first")
            profile.timezone = fields.timezone
            profile.vacation = fields.vacation
            await s.execute(
                delete(AvailabilityWindow).where(AvailabilityWindow.mentor_id == user.id)
            )
            await s.execute(delete(BlockedPeriod).where(BlockedPeriod.mentor_id == user.id))
            s.add_all(windows + blocked)

    async def availability(
        self, user_id: int
    ) -> tuple[list[AvailabilityWindow], list[BlockedPeriod]]:
        async with self.db.read() as s:
            windows = list(
                await s.scalars(
                    select(AvailabilityWindow)
                    .where(AvailabilityWindow.mentor_id == user_id)
                    .order_by(AvailabilityWindow.weekday, AvailabilityWindow.start_minute)
                )
            )
            blocked = list(
                await s.scalars(
                    select(BlockedPeriod)
                    .where(BlockedPeriod.mentor_id == user_id, BlockedPeriod.ends_at > self.clock())
                    .order_by(BlockedPeriod.starts_at)
                )
            )
        return windows, blocked

    # -- discovery ------------------------------------------------------------------------------

    async def known_skills(self) -> list[str]:
        """The skills of listed mentors, for the filter."""
        async with self.db.read() as s:
            rows = await s.scalars(
                select(MentorProfile.skills).where(MentorProfile.status == "approved")
            )
            found: dict[str, str] = {}
            for skills in rows:
                for skill in skills:
                    found.setdefault(skill.lower(), skill)
        return sorted(found.values(), key=str.lower)

    async def discover(
        self, query: MentorQuery, only: Collection[int] | None = None
    ) -> tuple[list[MentorCard], int]:
        """The listed mentors `query` finds (of `only`, when given: a user's favourites)."""
        sessions = (
            select(func.count())
            .where(Booking.mentor_id == MentorProfile.user_id, Booking.status == "completed")
            .correlate(MentorProfile)
            .scalar_subquery()
        )
        stmt = (
            select(MentorProfile, User.name, sessions.label("sessions"))
            .join(User, User.id == MentorProfile.user_id)
            .where(MentorProfile.status == "approved", User.suspended_at.is_(None))
        )
        text = query.q.strip().lower()
        if text:
            like = f"%{_escape_like(text)}%"
            stmt = stmt.where(
                or_(
                    func.lower(User.name).like(like, escape="\\"),
                    func.lower(MentorProfile.headline).like(like, escape="\\"),
                    MentorProfile.skills_key.like(like, escape="\\"),
                )
            )
        if query.skill.strip():
            stmt = stmt.where(
                MentorProfile.skills_key.like(
                    f"%|{_escape_like(query.skill.strip().lower())}|%", escape="\\"
                )
            )
        if query.max_price_paise is not None:
            stmt = stmt.where(MentorProfile.price_paise <= query.max_price_paise)
        if only is not None:
            stmt = stmt.where(MentorProfile.user_id.in_(sorted(only)))
        order = {
            "price": (MentorProfile.price_paise, User.name),
            "sessions": (sessions.desc(), User.name),
        }.get(query.sort, (sessions.desc(), MentorProfile.reviewed_at, User.name))
        async with self.db.read() as s:
            rows = (await s.execute(stmt.order_by(*order))).all()
            rated = await ratings(s)
        of = {profile.user_id: rated.get(profile.user_id, Rating()) for profile, *_ in rows}
        if query.min_rating > 0:  # by the average as cards show it, to one decimal
            rows = [r for r in rows if (of[r[0].user_id].average or 0) >= query.min_rating]
        if query.sort == "rating":  # the damped average (C*m + sum) / (C + n), then the count
            mean = prior_mean(rated.values())
            rows = sorted(
                rows, key=lambda r: (-damped(of[r[0].user_id], mean), -of[r[0].user_id].count)
            )
        day_filter = self._day(query) if query.available_on else None
        cards = []
        now = self.clock()
        for profile, name, count in rows:
            if day_filter is not None:
                day_slots = await self.bookings.slots(profile.user_id, *day_filter)
                if not day_slots:
                    continue
            cards.append(MentorCard(profile, name, int(count or 0), None, of[profile.user_id]))
        total = len(cards)
        start = (query.page - 1) * query.per_page
        page = cards[start : start + query.per_page]
        horizon = now + self.bookings.rules.horizon
        filled = []
        for card in page:
            slots = await self.bookings.slots(card.profile.user_id, now, horizon)
            filled.append(replace(card, next_free_slot=slots[0].start if slots else None))
        return filled, total

    def _day(self, query: MentorQuery) -> tuple[datetime, datetime]:
        viewer = zone(query.tz, "tz")
        try:
            day = datetime.strptime(query.available_on, "%Y-%m-%d")
        except ValueError:
            raise ApiError(400, "invalid_field", "must be YYYY-MM-DD", "available_on") from None
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            message = f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}"
            raise ApiError(400, "invalid_field", message, "available_on")
        start = day.replace(tzinfo=viewer).astimezone(UTC)
        return start, (day + timedelta(days=1)).replace(tzinfo=viewer).astimezone(UTC)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


MENTORS = web.AppKey("mentors", Mentors)
