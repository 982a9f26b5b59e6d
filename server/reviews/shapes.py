"""What the reviews API reads (bodies, queries) and writes (a review as JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from server.db.models import Review, ReviewReport
from server.http.formats import iso

MAX_TEXT = 1000
MAX_REPLY = 500
MAX_REASON = 500
EDIT_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class ReviewFields:
    rating: int = field(metadata={"minimum": 1, "maximum": 5, "description": "1 to 5 stars"})
    text: str = field(default="", metadata={"max_length": MAX_TEXT})


@dataclass(frozen=True)
class ReplyFields:
    text: str = field(metadata={"min_length": 1, "max_length": MAX_REPLY})


@dataclass(frozen=True)
class ReportFields:
    reason: str = field(default="", metadata={"max_length": MAX_REASON})


@dataclass(frozen=True)
class Moderation:
    decision: Literal["hide", "keep"]
    note: str = field(default="", metadata={"max_length": 500})


@dataclass(frozen=True)
class ReviewsQuery:
    page: int = field(default=1, metadata={"minimum": 1})
    per_page: int = field(default=10, metadata={"minimum": 1, "maximum": 100})


def public_name(name: str) -> str:
    """How a reviewer is named in public: the first name and the last name's initial."""
    words = name.split()
    if not words:
        return "A mentee"
    return f"{words[0]} {words[-1][0]}." if len(words) > 1 else words[0]


def review_json(review: Review, author: str) -> dict[str, Any]:
    return {
        "id": review.id,
        "booking_id": review.booking_id,
        "mentor_id": review.mentor_id,
        "author": public_name(author),
        "rating": review.rating,
        "text": review.text,
        "created_at": iso(review.created_at),
        "edited_at": iso(review.edited_at),
        "editable_until": iso(review.created_at + EDIT_WINDOW),
        "reply": review.reply or None,
        "replied_at": iso(review.replied_at),
        "hidden": review.hidden_at is not None,
    }


def report_json(report: ReviewReport, reporter: str) -> dict[str, Any]:
    return {
        "id": report.id,
        "reporter_id": report.reporter_id,
        "reporter": reporter,
        "reason": report.reason,
        "created_at": iso(report.created_at),
    }
