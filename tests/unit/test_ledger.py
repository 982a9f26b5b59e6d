"""The money rules over random histories: the ledger balances, nothing goes negative, every
payment counts once, and mentors get exactly their share of what they earned."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.flows import (
    BookingMoney,
    kept,
    on_cancel,
    on_dispute_refund,
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
    dispute_refund,
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


# -- disputes: a refund decided after the call is a reversal, never an edit -----------------------


def test_a_dispute_refund_reverses_the_shares_of_a_settled_call() -> None:
    ledger = Ledger()
    money, posted = on_payment(BookingMoney(1, mentor_id=7, price_paise=15000), "p", 15000, RULES)
    money, more = on_outcome(money, "completed", RULES)
    for transaction in posted + more:
        ledger.post(transaction)
    settled = [ledger.balance(a) for a in (wallet(7), PLATFORM_REVENUE, GST_PAYABLE)]
    reversal = on_dispute_refund(money, 5001, RULES)
    assert [t.key for t in reversal] == ["dispute_refund:1"]
    assert ledger.post(reversal[0]) and not ledger.post(reversal[0])  # once, whatever happens
    assert ledger.balance(REFUNDS) == 5001
    taken = [
        b - ledger.balance(a)
        for a, b in zip((wallet(7), PLATFORM_REVENUE, GST_PAYABLE), settled, strict=True)
    ]
    assert taken == [3500, 1231, 270] and sum(taken) == 5001  # 70%; 30% less 18% GST on it
    assert ledger.total() == 0
    # A full refund takes back exactly what the settlement gave.
    assert {
        e.account: -e.amount_paise
        for e in on_dispute_refund(money, 15000, RULES)[0].entries
        if e.account != REFUNDS
    } == {wallet(7): 10500, PLATFORM_REVENUE: 3690, GST_PAYABLE: 810}


def test_a_dispute_refund_needs_settled_money_and_stays_within_what_was_kept() -> None:
    held, _ = on_payment(BookingMoney(1, mentor_id=7, price_paise=10000), "p", 10000, RULES)
    with pytest.raises(ValueError):
        on_dispute_refund(held, 100, RULES)  # not settled yet
    half, _ = on_cancel(held, 5000, RULES)
    assert kept(half) == 5000
    with pytest.raises(ValueError):
        on_dispute_refund(half, 5001, RULES)
    with pytest.raises(ValueError):
        on_dispute_refund(half, 0, RULES)
    assert on_dispute_refund(half, 5000, RULES)[0].key == "dispute_refund:1"


@settings(max_examples=300, deadline=None)
@given(
    paid=st.integers(1, 5_000_000),
    refunded_share=st.integers(0, 100),
    disputed_share=st.integers(1, 100),
    mentor_percent=st.integers(0, 100),
    gst_percent=st.integers(0, 100),
)
def test_dispute_reversals_balance_and_never_take_back_more_than_was_posted(
    paid: int, refunded_share: int, disputed_share: int, mentor_percent: int, gst_percent: int
) -> None:
    """Any amounts, odd ones included: the three parts sum to the refund exactly, the ledger
    sums to zero, and no account gives back more than the booking gave it."""
    rules = SplitRules(mentor_percent, gst_percent)
    ledger = Ledger()
    money, posted = on_payment(BookingMoney(1, mentor_id=7, price_paise=paid), "p", paid, rules)
    refund = paid * refunded_share // 100
    if refund:
        money, more = on_cancel(money, refund, rules)  # a policy refund first: part was kept
    else:
        money, more = on_outcome(money, "completed", rules)
    for transaction in posted + more:
        ledger.post(transaction)
    if kept(money) == 0:
        return
    before = {a: ledger.balance(a) for a in (wallet(7), PLATFORM_REVENUE, GST_PAYABLE)}
    amount = max(1, kept(money) * disputed_share // 100)
    (reversal,) = on_dispute_refund(money, amount, rules)
    assert reversal == dispute_refund(1, 7, amount, rules)
    ledger.post(reversal)
    assert ledger.total() == 0
    assert ledger.balance(REFUNDS) == refund + amount
    taken = {a: b - ledger.balance(a) for a, b in before.items()}
    assert sum(taken.values()) == amount
    assert all(0 <= taken[a] <= before[a] for a in before)
