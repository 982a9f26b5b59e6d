"""What each money event does to one booking's money, as pure functions.

The state is the booking's money state, not its call state: `unpaid` → `held` (in escrow) →
`settled` (split to mentor and platform) or `refunded` (all or part owed back). A payment that
arrives for a booking that is no longer bookable (it expired, or was cancelled unpaid) is held
and refunded in full at once: money is never kept for a call that will not happen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from billing.ledger import (
    REFUNDS,
    SplitRules,
    Transaction,
    capture,
    dispute_refund,
    refund,
    refund_paid,
    settle,
    sponsor,
    sponsor_capture,
)

MoneyState = Literal["unpaid", "held", "settled", "refunded"]


@dataclass(frozen=True)
class BookingMoney:
    booking_id: int
    mentor_id: int
    price_paise: int
    state: MoneyState = "unpaid"
    payment_id: str | None = None
    paid_paise: int = 0
    refund_paise: int = 0
    refund_paid: bool = False
    bookable: bool = True  # False once the booking expired or was cancelled before payment
    sponsor_id: int | None = None  # a free call or credit: this sponsor wallet paid, not a card


def on_payment(
    money: BookingMoney, payment_id: str, amount: int, rules: SplitRules
) -> tuple[BookingMoney, list[Transaction]]:
    """A verified payment (callback or webhook, any number of times, in any order)."""
    if money.payment_id is not None:
        return money, []  # applied already (the ledger key would refuse it too)
    held = replace(money, state="held", payment_id=payment_id, paid_paise=amount)
    posted = [capture(money.booking_id, payment_id, amount)]
    if not money.bookable or amount != money.price_paise:
        # Late for a booking that is gone, or the wrong amount: give it all back.
        refunded, more = _refund(held, amount, rules)
        return refunded, posted + more
    return held, posted


def on_sponsored(
    money: BookingMoney, sponsor_id: int, rules: SplitRules
) -> tuple[BookingMoney, list[Transaction]]:
    """A free call or credit: the sponsor wallet pays the booking's price into escrow. From
    here the booking's money moves exactly as a card payment's would, except that a refund
    goes back to the sponsor wallet."""
    if money.state != "unpaid" or money.payment_id is not None or not money.bookable:
        raise ValueError("only a bookable, unpaid booking can be sponsored")
    held = replace(money, state="held", sponsor_id=sponsor_id, paid_paise=money.price_paise)
    return held, [sponsor_capture(money.booking_id, sponsor_id, money.price_paise)]


def on_cancel(
    money: BookingMoney, refund_amount: int, rules: SplitRules
) -> tuple[BookingMoney, list[Transaction]]:
    """A cancellation: unpaid, the booking just stops; held, the policy's refund is owed."""
    if money.state == "unpaid":
        return replace(money, bookable=False), []
    if money.state != "held":
        return money, []
    return _refund(money, min(refund_amount, money.paid_paise), rules)


def on_expired(money: BookingMoney) -> BookingMoney:
    return replace(money, bookable=False) if money.state == "unpaid" else money


def on_outcome(
    money: BookingMoney,
    outcome: Literal["completed", "mentor_no_show", "mentee_no_show"],
    rules: SplitRules,
) -> tuple[BookingMoney, list[Transaction]]:
    """The call is over: the mentor earns it, unless the mentor never came."""
    if money.state != "held":
        return money, []
    mentor_earns = outcome == "completed" or (
        outcome == "mentee_no_show" and rules.pay_mentor_on_mentee_no_show
    )
    if not mentor_earns:
        return _refund(money, money.paid_paise, rules)
    return replace(money, state="settled"), [
        settle(money.booking_id, money.mentor_id, money.paid_paise, rules)
    ]


def on_refund_processed(
    money: BookingMoney, refund_id: str
) -> tuple[BookingMoney, list[Transaction]]:
    """The gateway says the refund went out. Before we asked for one, it means nothing."""
    if money.state != "refunded" or money.refund_paid or money.refund_paise == 0:
        return money, []
    return replace(money, refund_paid=True), [
        refund_paid(money.booking_id, refund_id, money.refund_paise)
    ]


def kept(money: BookingMoney) -> int:
    """What a finished booking kept of the payment (split to mentor and platform): all of it
    once settled, what was not refunded once refunded, nothing before it is settled."""
    if money.state == "settled":
        return money.paid_paise
    if money.state == "refunded":
        return money.paid_paise - money.refund_paise
    return 0


def on_dispute_refund(money: BookingMoney, amount: int, rules: SplitRules) -> list[Transaction]:
    """A dispute decided with a refund of `amount`: reverses that much of what was kept."""
    if money.state == "held":
        raise ValueError("settle the booking before refunding a dispute on it")
    if not 0 < amount <= kept(money):
        raise ValueError(f"a dispute refund is between 1 and {kept(money)} paise")
    return [dispute_refund(money.booking_id, money.mentor_id, amount, rules)]


def _refund(
    money: BookingMoney, amount: int, rules: SplitRules
) -> tuple[BookingMoney, list[Transaction]]:
    to = sponsor(money.sponsor_id) if money.sponsor_id is not None else REFUNDS
    return replace(money, state="refunded", refund_paise=amount), [
        refund(money.booking_id, money.mentor_id, money.paid_paise, amount, rules, to)
    ]
