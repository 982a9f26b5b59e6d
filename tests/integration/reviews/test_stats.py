"""The stats bar's pure figures (server/reviews/stats.py): repeat mentees, the typical reply
time, and how it is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.reviews.stats import Line, Rating, duration_words, repeat_rate, reply_seconds

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_repeat_rate_counts_mentees_with_two_or_more_completed_calls() -> None:
    assert repeat_rate([]) is None
    assert repeat_rate([1, 1, 1]) == 0
    assert repeat_rate([3, 1, 2, 1]) == 0.5


def test_the_reply_time_runs_from_the_first_unanswered_message_per_conversation() -> None:
    assert reply_seconds([]) is None
    assert reply_seconds([Line(1, True, at(0))]) is None  # the mentor wrote first: no question
    assert reply_seconds([Line(1, False, at(0))]) is None  # never answered
    lines = [
        Line(1, False, at(0)),
        Line(2, False, at(1)),  # another conversation, answered after 59 minutes
        Line(1, False, at(5)),  # still waiting since minute 0
        Line(1, True, at(10)),  # 10 minutes
        Line(1, True, at(11)),  # nothing was waiting
        Line(1, False, at(20)),
        Line(2, True, at(60)),
        Line(1, True, at(22)),  # 2 minutes
    ]
    assert reply_seconds(sorted(lines, key=lambda line: line.at)) == 10 * 60


def test_durations_and_averages_read_as_the_page_shows_them() -> None:
    assert [duration_words(s) for s in (None, 59, 60, 3599, 5400, 86400 * 3)] == [
        "—",
        "under a minute",
        "1 minute",
        "1 hour",
        "2 hours",
        "3 days",
    ]
    assert Rating(3, 13).average == 4.3
    assert Rating().average is None
