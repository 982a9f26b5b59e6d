"""What a student may still use, from the sponsor's rule and their past uses: pure, so the
rolling window is tested with any clock (tests/unit/test_credit_allowance.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Kind = Literal["free_call", "credit"]


@dataclass(frozen=True)
class Rule:
    kind: Literal["weekly", "term"]
    free_calls: int = 2
    window: timedelta = timedelta(days=7)
    term_credits: int = 0
    term_starts: datetime | None = None
    term_ends: datetime | None = None


@dataclass(frozen=True)
class Allowance:
    kind: Kind
    limit: int  # per window or per term
    used: int  # counted against the limit now
    renews_at: datetime | None  # weekly: when the oldest counted use leaves the window
    term_ends: datetime | None  # term: when this term's credits lapse

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)


def allowance(rule: Rule, uses: Iterable[datetime], now: datetime) -> Allowance:
    """`uses`: when each free call or credit still counted was used (given-back ones left out).

    Weekly: a use counts for `window` after it was made, so with 2 a week, two calls booked on
    Monday make the third pay until the next Monday, when the first is free again. Term: uses
    inside the term count; outside a term there is nothing to use.
    """
    if rule.kind == "weekly":
        since = now - rule.window
        counted = sorted(u for u in uses if since < u <= now)
        renews = counted[0] + rule.window if counted and len(counted) >= rule.free_calls else None
        return Allowance("free_call", rule.free_calls, len(counted), renews, None)
    starts, ends = rule.term_starts, rule.term_ends
    if starts is None or ends is None or not starts <= now < ends:
        return Allowance("credit", 0, 0, None, ends)
    used = sum(1 for u in uses if starts <= u < ends)
    return Allowance("credit", rule.term_credits, used, None, ends)
