"""Favourites, interests and recommendations over the database. No HTTP here.

The rules: a logged-in user keeps any listed mentor (approved, not suspended) other than
themselves as a favourite; adding one twice or taking out one that is not there changes
nothing. A favourite of a mentor who stops being listed is kept but not shown, and shows again
if they are listed again.

"Mentors for you" (server/discovery/scoring.py scores them) leaves out the mentee themselves,
the mentors they already booked (their past calls offer "Book again") and their favourites (one
tick away under "Favourites only"); the skills of both still say what the mentee likes. A mentee
who asked for nothing yet (no interests, bookings or favourites), or whose interests no listed
mentor shares, gets the top rated mentors instead, each saying so; with no rated mentor either,
the list is empty and the dashboard asks for interests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from aiohttp import web
from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.clock import Clock
from server.db.engine import Database
from server.db.models import Booking, MentorProfile, User
from server.discovery.scoring import Catalogue, Document, Index, Profile, Seeker, document
from server.discovery.shapes import Listed, clean_interests
from server.discovery.tables import Favourite, Interests
from server.http.errors import ApiError
from server.reviews.service import ratings
from server.reviews.stats import Rating, rank

# Bookings that say the mentee chose this mentor (and make them "already booked").
BOOKED = ("confirmed", "in_call", "completed", "no_show")

Basis = Literal["similarity", "top_rated"]


@dataclass(frozen=True)
class Recommendation:
    mentor: Listed
    score: float
    shared: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Recommendations:
    """What "Mentors for you" shows: how the list was made, the interests it used, the list."""

    basis: Basis
    interests: list[str]
    items: list[Recommendation]


# A listed mentor: approved, and not suspended.
LISTED: tuple[ColumnElement[bool], ...] = (
    MentorProfile.status == "approved",
    User.suspended_at.is_(None),
)


class Discovery:
    def __init__(self, db: Database, *, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        # Each listed mentor's document by the text it was made from, and the vectors of the
        # whole catalogue by every listed mentor's text: see _catalogue.
        self._documents: dict[int, tuple[tuple[object, ...], Document]] = {}
        self._index: tuple[tuple[object, ...], Index] | None = None

    # -- favourites -------------------------------------------------------------------------------

    async def favourite(self, user: User, mentor_id: int) -> Favourite:
        """Adds the mentor to the user's favourites (once); 404 for a mentor not listed."""
        try:
            async with self.db.write() as s:
                if not await _is_listed(s, mentor_id):
                    raise ApiError(404, "not_found", "no such mentor")
                if mentor_id == user.id:
                    raise ApiError(409, "own_profile", "you cannot favourite yourself")
                found = await s.get(Favourite, (user.id, mentor_id))
                if found is None:
                    found = Favourite(user_id=user.id, mentor_id=mentor_id, created_at=self.clock())
                    s.add(found)
                return found
        except IntegrityError:  # the same favourite, twice at once: the first stands
            async with self.db.read() as s:
                stored = await s.get(Favourite, (user.id, mentor_id))
            if stored is None:
                raise
            return stored

    async def unfavourite(self, user: User, mentor_id: int) -> None:
        """Takes the mentor out of the user's favourites; 404 when the id is neither a listed
        mentor nor one of the user's favourites."""
        async with self.db.write() as s:
            found = await s.get(Favourite, (user.id, mentor_id))
            if found is not None:
                await s.delete(found)
            elif not await _is_listed(s, mentor_id):
                raise ApiError(404, "not_found", "no such mentor")

    async def favourite_ids(self, user_id: int) -> set[int]:
        async with self.db.read() as s:
            return set(
                await s.scalars(select(Favourite.mentor_id).where(Favourite.user_id == user_id))
            )

    async def is_favourite(self, user_id: int, mentor_id: int) -> bool:
        async with self.db.read() as s:
            return await s.get(Favourite, (user_id, mentor_id)) is not None

    async def favourites(self, user: User) -> list[tuple[Listed, Favourite]]:
        """The user's favourite mentors that are listed, the newest favourite first."""
        async with self.db.read() as s:
            rows = (
                await s.execute(
                    select(Favourite, MentorProfile, User.name)
                    .join(MentorProfile, MentorProfile.user_id == Favourite.mentor_id)
                    .join(User, User.id == Favourite.mentor_id)
                    .where(Favourite.user_id == user.id, *LISTED)
                    .order_by(Favourite.created_at.desc(), Favourite.mentor_id.desc())
                )
            ).all()
            rated = await ratings(s, [p.user_id for _f, p, _n in rows])
        return [(Listed(p, name, rated.get(p.user_id, Rating())), f) for f, p, name in rows]

    # -- interests ---------------------------------------------------------------------------------

    async def interests(self, user_id: int) -> list[str]:
        async with self.db.read() as s:
            stored = await s.get(Interests, user_id)
            return list(stored.tags) if stored else []

    async def set_interests(self, user: User, tags: Sequence[str]) -> list[str]:
        """Replaces the user's interests (cleaned: see shapes.clean_interests)."""
        cleaned = clean_interests(list(tags))
        async with self.db.write() as s:
            stored = await s.get(Interests, user.id)
            if stored is None:
                s.add(Interests(user_id=user.id, tags=cleaned, updated_at=self.clock()))
            else:
                stored.tags, stored.updated_at = cleaned, self.clock()
        return cleaned

    # -- recommendations ---------------------------------------------------------------------------

    async def recommend(self, user: User, limit: int = 5) -> Recommendations:
        async with self.db.read() as s:
            texts = (
                await s.execute(  # only the columns scoring reads: a catalogue may be large
                    select(
                        MentorProfile.user_id,
                        MentorProfile.skills,
                        MentorProfile.headline,
                        MentorProfile.bio,
                    )
                    .join(User, User.id == MentorProfile.user_id)
                    .where(*LISTED)
                    .order_by(MentorProfile.user_id)
                )
            ).all()
            rated = await ratings(s)
            stored = await s.get(Interests, user.id)
            booked = set(
                await s.scalars(
                    select(Booking.mentor_id).where(
                        Booking.mentee_id == user.id, Booking.status.in_(BOOKED)
                    )
                )
            )
            kept = set(
                await s.scalars(select(Favourite.mentor_id).where(Favourite.user_id == user.id))
            )
            # Every booking counts, so a mentor booked twice says twice as much.
            history_rows = await s.scalars(
                select(MentorProfile.skills)
                .join(Booking, Booking.mentor_id == MentorProfile.user_id)
                .where(Booking.mentee_id == user.id, Booking.status.in_(BOOKED))
                .order_by(Booking.id)
            )
            history = [skill for skills in history_rows for skill in skills]
            favourite_skills = await s.scalars(
                select(MentorProfile.skills)
                .join(Favourite, Favourite.mentor_id == MentorProfile.user_id)
                .where(Favourite.user_id == user.id)
                .order_by(Favourite.mentor_id)
            )
            history += [skill for skills in favourite_skills for skill in skills]
        interests = list(stored.tags) if stored else []
        profiles = [
            Profile(i, tuple(skills), headline, bio, rated.get(i, Rating()))
            for i, skills, headline, bio in texts
        ]
        seeker = Seeker(tuple(interests), tuple(history))
        left_out = booked | kept | {user.id}
        if not seeker.empty:  # scored outside the transaction: an index may take a while
            catalogue = await self._catalogue(profiles)
            matches = catalogue.match(seeker, exclude=left_out, limit=limit)
            if matches:
                cards = await self._cards([m.mentor_id for m in matches], rated)
                items = [
                    Recommendation(cards[m.mentor_id], round(m.score, 4), m.shared, m.reason)
                    for m in matches
                    if m.mentor_id in cards  # unlisted in the meantime: left out
                ]
                return Recommendations("similarity", interests, items)
        listed = {p.mentor_id for p in profiles}
        chosen = {i: r for i, r in rated.items() if r.count and i in listed - left_out}
        top = rank(chosen)[:limit]
        cards = await self._cards(top, rated)
        items = [_top_rated(cards[i]) for i in top if i in cards]
        return Recommendations("top_rated", interests, items)

    async def _cards(self, mentor_ids: list[int], rated: dict[int, Rating]) -> dict[int, Listed]:
        async with self.db.read() as s:
            rows = await s.execute(
                select(MentorProfile, User.name)
                .join(User, User.id == MentorProfile.user_id)
                .where(MentorProfile.user_id.in_(mentor_ids), *LISTED)
            )
            return {p.user_id: Listed(p, n, rated.get(p.user_id, Rating())) for p, n in rows}

    async def _catalogue(self, profiles: list[Profile]) -> Catalogue:
        """The catalogue, with the vectors kept from the last call while no listed mentor's
        text changed; else built again in a thread (reusing each unchanged mentor's document),
        so that a large catalogue does not hold up the event loop."""
        key = tuple((p.mentor_id, p.skills, p.headline, p.bio) for p in profiles)
        if self._index is None or self._index[0] != key:
            documents, index = await asyncio.to_thread(_indexed, profiles, dict(self._documents))
            self._documents = {
                p.mentor_id: ((p.skills, p.headline, p.bio), documents[p.mentor_id])
                for p in profiles
            }
            self._index = (key, index)
        return Catalogue(
            profiles, {i: doc for i, (_key, doc) in self._documents.items()}, self._index[1]
        )


def _indexed(
    profiles: list[Profile], known: dict[int, tuple[tuple[object, ...], Document]]
) -> tuple[dict[int, Document], Index]:
    documents = {}
    for profile in profiles:
        cached = known.get(profile.mentor_id)
        same = cached is not None and cached[0] == (profile.skills, profile.headline, profile.bio)
        documents[profile.mentor_id] = cached[1] if cached and same else document(profile)
    return documents, Index(documents)


def _top_rated(mentor: Listed) -> Recommendation:
    rating = mentor.rating
    reviews = f"{rating.count} review{'' if rating.count == 1 else 's'}"
    reason = f"top rated: {rating.average:.1f} stars from {reviews}"
    return Recommendation(mentor, 0.0, (), reason)


async def _is_listed(s: AsyncSession, mentor_id: int) -> bool:
    found = await s.scalar(
        select(MentorProfile.user_id)
        .join(User, User.id == MentorProfile.user_id)
        .where(MentorProfile.user_id == mentor_id, *LISTED)
    )
    return found is not None


DISCOVERY = web.AppKey("discovery", Discovery)
