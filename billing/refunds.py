"""How much a cancelled booking refunds (PRD 6.4). Amounts in integer paise."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

FULL_REFUND_BEFORE = timedelta(hours=24)
HALF_REFUND_BEFORE = timedelta(hours=4)


def cancellation_refund(
    paid_paise: int,
    *,
    starts_at: datetime,
    cancelled_at: datetime,
    cancelled_by: Literal["mentor", "mentee"],
) -> int:
    """A mentor who cancels refunds in full. A mentee gets everything back more than 24 hours
    before the start, half from 24 down to 4 hours, nothing under 4 hours."""
    if paid_paise <= 0:
        return 0
    if cancelled_by == "mentor":
        return paid_paise
    notice = starts_at - cancelled_at
    if notice > FULL_REFUND_BEFORE:
        return paid_paise
    if notice >= HALF_REFUND_BEFORE:
        return paid_paise // 2  # an odd paisa stays with the mentor's side of the ledger
    return 0
