"""How times and money are written in JSON and on pages."""

from __future__ import annotations

from datetime import datetime


def iso(at: datetime | None) -> str | None:
    """ISO 8601 UTC with Z, as the API writes times; None stays None."""
    return at.isoformat().replace("+00:00", "Z") if at else None


def rupees(paise: int, exact: bool = False) -> str:
    """₹100 for prices; with `exact`, ₹70.00 as statements show money. Integer arithmetic."""
    sign, paise = ("−", -paise) if paise < 0 else ("", paise)
    whole, part = divmod(paise, 100)
    cents = f".{part:02d}" if exact or part else ""
    return f"{sign}₹{indian_grouping(whole)}{cents}"


def indian_grouping(number: int) -> str:
    """12,34,567: thousands, then lakhs and crores, as Indian amounts are written."""
    digits = str(number)
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        head, groups = head[:-2], [head[-2:], *groups]
    return ",".join([head, *groups, tail])
