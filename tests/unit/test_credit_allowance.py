"""The free-call rule as a pure function: the rolling week and the term, including a property
over random histories that no window ever holds more free calls than the rule gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from server.credits.allowance import Rule, allowance

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def test_two_a_week_then_none_until_the_first_is_a_week_old() -> None:
    rule = Rule("weekly", free_calls=2)
    uses = [MONDAY, MONDAY + timedelta(days=2)]
    now = MONDAY + timedelta(days=3)
    a = allowance(rule, uses, now)
    assert (a.kind, a.limit, a.used, a.left) == ("free_call", 2, 2, 0)
    assert a.renews_at == MONDAY + WEEK
    assert allowance(rule, uses, MONDAY + WEEK - timedelta(seconds=1)).left == 0
    assert allowance(rule, uses, MONDAY + WEEK).left == 1
    assert allowance(rule, uses, MONDAY + timedelta(days=9)).left == 2


def test_credits_count_only_inside_the_term() -> None:
    rule = Rule("term", term_credits=3, term_starts=MONDAY, term_ends=MONDAY + timedelta(days=100))
    before = MONDAY - timedelta(days=1)
    assert allowance(rule, [], before).left == 0  # no term yet
    a = allowance(rule, [before, MONDAY, MONDAY + timedelta(days=5)], MONDAY + timedelta(days=6))
    assert (a.kind, a.used, a.left) == ("credit", 2, 1)
    assert allowance(rule, [], MONDAY + timedelta(days=100)).left == 0  # the term is over


@settings(max_examples=200, deadline=None)
@given(
    free=st.integers(min_value=0, max_value=4),
    gaps=st.lists(st.integers(min_value=0, max_value=60 * 24 * 5), min_size=1, max_size=40),
)
def test_no_window_ever_holds_more_free_calls_than_the_rule(free: int, gaps: list[int]) -> None:
    """A student asks for a free call after each gap (minutes); the rule grants it when some
    are left. However they time it, any 7 days hold at most `free` granted calls, and a refusal
    only happens when the window is full."""
    rule = Rule("weekly", free_calls=free)
    granted: list[datetime] = []
    now = MONDAY
    for gap in gaps:
        now += timedelta(minutes=gap)
        in_window = [u for u in granted if now - WEEK < u <= now]
        if allowance(rule, granted, now).left > 0:
            assert len(in_window) < free
            granted.append(now)
        else:
            assert len(in_window) >= free
    for start in granted:
        assert sum(1 for u in granted if start <= u < start + WEEK) <= free
