"""[credits]: the default rule a new sponsor starts with, and the rolling window's length."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CreditSettings:
    # Free calls each verified student gets per rolling window (a sponsor may change its own).
    free_calls_per_week: int = field(default=2, metadata={"min": 0, "max": 100})
    # The rolling window free calls are counted over, in days.
    window_days: int = field(default=7, metadata={"min": 1, "max": 90})
    # How long a campus address's confirmation link works, in hours.
    link_hours: int = field(default=48, metadata={"min": 1, "max": 720})
