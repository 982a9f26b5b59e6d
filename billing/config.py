"""The settings billing/ owns: `[billing]`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BillingSettings:
    price_paise: int = field(default=10000, metadata={"min": 0})
