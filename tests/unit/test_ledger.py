"""The money rules over random histories: the ledger balances, nothing goes negative, every
payment counts once, and mentors get exactly their share of what they earned."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.flows import (
    BookingMoney,
    on_cancel,
    on_expired,
    on_outcome,
    on_payment,
    on_refund_processed,
)
from billing.ledger import (
    GST_PAYABLE,
    PLATFORM_REVENUE,
    REFUNDS,
    Entry,
    Ledger,
    SplitRules,
    Transaction,
    UnbalancedTransaction,
    escrow,
    wallet,
)

RULES = SplitRules(mentor_share_percent=70, gst_percent=18)


def test_a_completed_call_splits_70_30_with_gst_on_the_commission() -> None:
    ledger = Ledger()
    money = BookingMoney(1, mentor_id=7, price_paise=10000)
    money, posted = on_payment(money, "pay_1", 10000, RULES)
    money, more = on_outcome(money, "completed", RULES)
    for transaction in posted + more:
        ledger.post(transaction)
    assert ledger.balance(wallet(7)) == 7000
    assert ledger.balance(GST_PAYABLE) == 540  # 18% of the ₹30 commission
    assert ledger.balance(PLATFORM_REVENUE) == 2460
    assert ledger.balance(escrow(1)) == 0
    assert ledger.total() == 0


def test_unbalanced_transactions_are_refused() -> None:
    with pytest.raises(UnbalancedTransaction):
        Transaction("k", "broken", (Entry("a", 100), Entry("b", -99)))


@dataclass(frozen=True)
class Event:
    kind: str
    booking: int
    detail: int = 0


events = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "pay",
                "pay",
                "cancel_mentee_full",
                "cancel_mentee_half",
                "cancel_mentee_none",
                "cancel_mentor",
                "complete",
                "mentor_no_show",
                "mentee_no_show",
                "refund_processed",
                "expire",
                "pay_wrong_amount",
            ]
        ),
        st.integers(0, 4),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    prices=st.lists(st.integers(1, 500_000), min_size=5, max_size=5),
    history=events,
    pay_on_mentee_no_show=st.booleans(),
)
def test_random_histories_keep_the_books_straight(
    prices: list[int], history: list[tuple[str, int]], pay_on_mentee_no_show: bool
) -> None:
    rules = SplitRules(70, 18, pay_on_mentee_no_show)
    ledger = Ledger()
    money = {b: BookingMoney(b, mentor_id=b % 2, price_paise=prices[b]) for b in range(5)}
    payments_seen: set[str] = set()
    for kind, b in history:
        state = money[b]
        refund_for = {
            "cancel_mentee_full": state.paid_paise,
            "cancel_mentee_half": state.paid_paise // 2,
            "cancel_mentee_none": 0,
            "cancel_mentor": state.paid_paise,
        }
        if kind in ("pay", "pay_wrong_amount"):
            payment_id = f"pay_{b}"  # the same payment, delivered again and again
            amount = prices[b] + (1 if kind == "pay_wrong_amount" else 0)
            payments_seen.add(payment_id)
            state, posted = on_payment(state, payment_id, amount, rules)
        elif kind in refund_for:
            state, posted = on_cancel(state, refund_for[kind], rules)
        elif kind == "complete":
            state, posted = on_outcome(state, "completed", rules)
        elif kind in ("mentor_no_show", "mentee_no_show"):
            state, posted = on_outcome(state, kind, rules)  # type: ignore[arg-type]
        elif kind == "refund_processed":
            state, posted = on_refund_processed(state, f"rfnd_{b}")
        else:
            state, posted = on_expired(state), []
        money[b] = state
        for transaction in posted:
            ledger.post(transaction)
            ledger.post(transaction)  # a replay changes nothing

        assert ledger.total() == 0
        assert all(balance >= 0 for _a, balance in ledger.accounts("wallet:"))
        assert all(balance >= 0 for _a, balance in ledger.accounts("escrow:"))
        assert ledger.balance(REFUNDS) >= 0

    captures = [t for t in ledger.transactions.values() if t.kind == "capture"]
    assert (
        len(captures)
        == len({t.key for t in captures})
        == len([p for p in payments_seen if money[int(p.split("_")[1])].payment_id])
    )
    for mentor in (0, 1):
        earned = 0
        for state in money.values():
            if state.mentor_id != mentor:
                continue
            if state.state == "settled":
                earned += rules.split(state.paid_paise)[0]
            elif state.state == "refunded":
                earned += rules.split(state.paid_paise - state.refund_paise)[0]
        assert ledger.balance(wallet(mentor)) == earned
    for state in money.values():
        held = ledger.balance(escrow(state.booking_id))
        assert held == (state.paid_paise if state.state == "held" else 0)
