"""The cancellation policy: who cancels and how long before the start decide the refund."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billing.refunds import cancellation_refund

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("before", "by", "refund"),
    [
        (timedelta(hours=48), "mentee", 10000),
        (timedelta(hours=24, seconds=1), "mentee", 10000),
        (timedelta(hours=24), "mentee", 5000),
        (timedelta(hours=4), "mentee", 5000),
        (timedelta(hours=3, minutes=59), "mentee", 0),
        (timedelta(minutes=-5), "mentee", 0),
        (timedelta(minutes=5), "mentor", 10000),
        (timedelta(days=3), "mentor", 10000),
    ],
)
def test_refund_by_notice_and_who_cancels(before: timedelta, by: str, refund: int) -> None:
    got = cancellation_refund(10000, starts_at=START, cancelled_at=START - before, cancelled_by=by)  # type: ignore[arg-type]
    assert got == refund


def test_nothing_paid_nothing_refunded_and_odd_paise_round_down() -> None:
    assert cancellation_refund(0, starts_at=START, cancelled_at=START, cancelled_by="mentor") == 0
    half = cancellation_refund(
        10001, starts_at=START, cancelled_at=START - timedelta(hours=5), cancelled_by="mentee"
    )
    assert half == 5000
