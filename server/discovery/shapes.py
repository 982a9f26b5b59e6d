"""What the discovery API reads (interests, the number of recommendations) and writes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.db.models import MentorProfile
from server.http.errors import ApiError
from server.http.formats import iso
from server.reviews.stats import Rating

MAX_INTERESTS = 20
MAX_INTEREST_LENGTH = 40
MAX_INTERESTS_TEXT = 1000
MAX_RECOMMENDATIONS = 20


@dataclass(frozen=True)
class InterestsFields:
    interests: list[str] = field(
        metadata={
            "max_items": MAX_INTERESTS,
            "description": f"free-text tags, each at most {MAX_INTEREST_LENGTH} characters",
        }
    )


@dataclass(frozen=True)
class RecommendationsQuery:
    limit: int = field(default=5, metadata={"minimum": 1, "maximum": MAX_RECOMMENDATIONS})


def clean_interests(tags: list[str]) -> list[str]:
    """Tags with their spaces tidied, empty ones dropped, the first of any repeat (in any case)
    kept; a 400 naming `interests` for one that is too long."""
    cleaned: list[str] = []
    for tag in tags:
        text = " ".join(tag.split())
        if not text:
            continue
        if "\x00" in text:
            raise ApiError(400, "invalid_field", "must not contain NUL characters", "interests")
        if len(text) > MAX_INTEREST_LENGTH:
            message = f"each interest must be at most {MAX_INTEREST_LENGTH} characters"
            raise ApiError(400, "invalid_field", message, "interests")
        if text.lower() not in (c.lower() for c in cleaned):
            cleaned.append(text)
    if len(cleaned) > MAX_INTERESTS:
        raise ApiError(400, "invalid_field", f"name at most {MAX_INTERESTS} interests", "interests")
    return cleaned


def split_interests(text: str) -> list[str]:
    """The form's one line of interests, "python, interviews", as tags (commas, semicolons or
    line ends separate them)."""
    return [part for part in re.split(r"[,;\n]", text) if part.strip()]


@dataclass(frozen=True)
class Listed:
    """A listed mentor with the figures a card shows."""

    profile: MentorProfile
    name: str
    rating: Rating


def mentor_card_json(mentor: Listed) -> dict[str, Any]:
    profile = mentor.profile
    return {
        "id": profile.user_id,
        "name": mentor.name,
        "headline": profile.headline,
        "skills": profile.skills,
        "price_paise": profile.price_paise,
        "photo_url": f"/media/photos/{profile.photo}" if profile.photo else None,
        "rating": mentor.rating.average,
        "reviews": mentor.rating.count,
    }


def favourite_json(mentor: Listed, since: datetime) -> dict[str, Any]:
    return {**mentor_card_json(mentor), "favourited_at": iso(since)}
