"""The rating figures as pure code: averages, the damped (Bayesian) average discovery ranks by,
and the mentor page's stats bar (repeat mentees, typical reply time). No database here."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

# C: how many "average" ratings every mentor is assumed to have before their own count.
DAMPING = 5
# m when nobody is rated yet, and the most the site's mean may pull towards: were m above
# about 4.4, one 5-star review would outrank fifty 4.5-star ones, which ranking must not do.
PRIOR_MEAN = 4.0


@dataclass(frozen=True)
class Rating:
    """The visible ratings of one mentor: how many, and their sum."""

    count: int = 0
    total: int = 0

    @property
    def average(self) -> float | None:
        """The mean to one decimal, as pages and the API show it; None when unrated."""
        return round(self.total / self.count, 1) if self.count else None


def prior_mean(ratings: Iterable[Rating]) -> float:
    """m: the mean of every visible rating on the site, capped at PRIOR_MEAN (PRIOR_MEAN when
    there are none)."""
    count = total = 0
    for rating in ratings:
        count += rating.count
        total += rating.total
    return min(total / count, PRIOR_MEAN) if count else PRIOR_MEAN


def damped(rating: Rating, mean: float, weight: int = DAMPING) -> float:
    """(C*m + sum) / (C + n): the average pulled towards m, less so the more ratings there are."""
    return (weight * mean + rating.total) / (weight + rating.count)


def rank(ratings: dict[int, Rating], weight: int = DAMPING) -> list[int]:
    """The ids best first by the damped average; ties go to more ratings, then the lower id."""
    mean = prior_mean(ratings.values())
    return sorted(ratings, key=lambda i: (-damped(ratings[i], mean, weight), -ratings[i].count, i))


def repeat_rate(calls_per_mentee: Iterable[int]) -> float | None:
    """The share of a mentor's mentees (with a completed call) who had two or more."""
    counts = [n for n in calls_per_mentee if n > 0]
    return sum(1 for n in counts if n >= 2) / len(counts) if counts else None


@dataclass(frozen=True)
class Line:
    """One message of a booking's conversation, as the reply time needs it."""

    booking_id: int
    from_mentor: bool
    at: datetime


def reply_seconds(lines: Sequence[Line]) -> float | None:
    """The typical time a mentor takes to answer: the median, over every time a mentee wrote,
    from the mentee's first unanswered message to the mentor's next one in that booking's
    conversation. `lines` in time order; None when the mentor never answered one."""
    waiting: dict[int, datetime] = {}
    gaps: list[float] = []
    for line in lines:
        if not line.from_mentor:
            waiting.setdefault(line.booking_id, line.at)
        elif line.booking_id in waiting:
            gaps.append((line.at - waiting.pop(line.booking_id)).total_seconds())
    return statistics.median(gaps) if gaps else None


def duration_words(seconds: float | None) -> str:
    """A reply time as the stats bar says it: "under a minute", "12 minutes", "3 hours"."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return "under a minute"
    for unit, size, limit in (("minute", 60, 60), ("hour", 3600, 24)):
        n = round(seconds / size)
        if n < limit:
            return f"{n} {unit}{'s' if n != 1 else ''}"
    days = round(seconds / 86400)
    return f"{days} day{'s' if days != 1 else ''}"
