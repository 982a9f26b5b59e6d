"""The double-entry ledger: every movement of money is a transaction whose entries sum to zero.

Amounts are integer paise. An account's balance is the sum of its entries; nothing is edited
or deleted. Signs: a positive balance is money the account holds (or, for `gateway_clearing`,
a negative one is money the gateway has sent us and not yet settled to the bank).

The rules here decide which entries each money event makes; the server stores them
(server/money.py) and tests replay random histories against them (tests/unit/test_ledger.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

GATEWAY_CLEARING = "gateway_clearing"
PLATFORM_REVENUE = "platform_revenue"
GST_PAYABLE = "gst_payable"
TDS_PAYABLE = "tds_payable"
REFUNDS = "refunds"  # refunds owed to mentees, until the gateway has paid them out
PAYOUTS = "payouts"  # payouts owed to mentors, until the bank transfer is made
# Money institutions sent us to fund their sponsor wallets (bank transfers recorded by hand).
SPONSOR_DEPOSITS = "sponsor_deposits"


def escrow(booking_id: int) -> str:
    """The mentee's money for one booking, held until the call is settled."""
    return f"escrow:{booking_id}"


def wallet(mentor_id: int) -> str:
    return f"wallet:{mentor_id}"


def sponsor(sponsor_id: int) -> str:
    """An institution's sponsor wallet: what pays its students' free calls and credits."""
    return f"sponsor:{sponsor_id}"


class UnbalancedTransaction(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    account: str
    amount_paise: int


@dataclass(frozen=True)
class Transaction:
    """One movement. `key` makes it idempotent: a second transaction with the key is ignored."""

    key: str
    kind: str
    entries: tuple[Entry, ...]

    def __post_init__(self) -> None:
        if sum(e.amount_paise for e in self.entries) != 0:
            raise UnbalancedTransaction(f"{self.kind} {self.key} does not sum to zero")
        if any(not isinstance(e.amount_paise, int) for e in self.entries):
            raise UnbalancedTransaction("amounts are integer paise")


def _transaction(key: str, kind: str, *entries: tuple[str, int]) -> Transaction:
    return Transaction(key, kind, tuple(Entry(a, n) for a, n in entries if n != 0))


@dataclass(frozen=True)
class SplitRules:
    mentor_share_percent: int = 70
    gst_percent: int = 18
    pay_mentor_on_mentee_no_show: bool = True

    def split(self, amount: int) -> tuple[int, int, int]:
        """(mentor's share, platform revenue net of GST, GST on the platform's commission)."""
        mentor = amount * self.mentor_share_percent // 100
        commission = amount - mentor
        gst = (commission * self.gst_percent + 50) // 100  # to the nearest paisa
        return mentor, commission - gst, gst


def capture(booking_id: int, payment_id: str, amount: int) -> Transaction:
    """The gateway took the mentee's payment: it is held in the booking's escrow."""
    return _transaction(
        f"capture:{payment_id}",
        "capture",
        (GATEWAY_CLEARING, -amount),
        (escrow(booking_id), amount),
    )


def sponsor_topup(topup_id: int, sponsor_id: int, amount: int) -> Transaction:
    """An institution's recorded transfer funds its sponsor wallet."""
    return _transaction(
        f"sponsor_topup:{topup_id}",
        "sponsor_topup",
        (SPONSOR_DEPOSITS, -amount),
        (sponsor(sponsor_id), amount),
    )


def sponsor_capture(booking_id: int, sponsor_id: int, amount: int) -> Transaction:
    """A free call or credit: the sponsor wallet pays the booking's escrow, as a card would."""
    return _transaction(
        f"sponsor_capture:{booking_id}",
        "sponsor_capture",
        (sponsor(sponsor_id), -amount),
        (escrow(booking_id), amount),
    )


def settle(
    booking_id: int, mentor_id: int, amount: int, rules: SplitRules, kind: str = "settle"
) -> Transaction:
    """The escrow goes to the mentor's wallet and the platform (with GST set aside)."""
    mentor, platform, gst = rules.split(amount)
    return _transaction(
        f"{kind}:{booking_id}",
        kind,
        (escrow(booking_id), -amount),
        (wallet(mentor_id), mentor),
        (PLATFORM_REVENUE, platform),
        (GST_PAYABLE, gst),
    )


def refund(
    booking_id: int,
    mentor_id: int,
    paid: int,
    refund_amount: int,
    rules: SplitRules,
    to: str = REFUNDS,
) -> Transaction:
    """Part or all of the escrow is owed back to whoever paid (the mentee through `refunds`, or
    a sponsor wallet); what is kept is split as earned."""
    kept = paid - refund_amount
    mentor, platform, gst = rules.split(kept)
    return _transaction(
        f"refund:{booking_id}",
        "refund",
        (escrow(booking_id), -paid),
        (to, refund_amount),
        (wallet(mentor_id), mentor),
        (PLATFORM_REVENUE, platform),
        (GST_PAYABLE, gst),
    )


def dispute_refund(booking_id: int, mentor_id: int, amount: int, rules: SplitRules) -> Transaction:
    """A dispute's refund of `amount` out of what a booking kept, as a reversal: the mentor's
    share, the platform's commission and the GST on it each give back their part of `amount`
    (split as the booking was), and the mentee is owed it. Nothing posted before is edited;
    a mentor already paid out goes negative until later earnings make it up."""
    mentor, platform, gst = rules.split(amount)
    return _transaction(
        f"dispute_refund:{booking_id}",
        "dispute_refund",
        (wallet(mentor_id), -mentor),
        (PLATFORM_REVENUE, -platform),
        (GST_PAYABLE, -gst),
        (REFUNDS, amount),
    )


def refund_paid(booking_id: int, refund_id: str, amount: int) -> Transaction:
    """The gateway paid the refund out to the mentee."""
    return _transaction(
        f"refund_paid:{refund_id}", "refund_paid", (REFUNDS, -amount), (GATEWAY_CLEARING, amount)
    )


def payout(payout_id: int, mentor_id: int, amount: int, tds: int) -> Transaction:
    """A mentor withdraws `amount` from the wallet; `tds` of it is withheld for the tax office."""
    return _transaction(
        f"payout:{payout_id}",
        "payout",
        (wallet(mentor_id), -amount),
        (PAYOUTS, amount - tds),
        (TDS_PAYABLE, tds),
    )


def payout_paid(payout_id: int, net: int) -> Transaction:
    """The bank transfer to the mentor went out."""
    return _transaction(
        f"payout_paid:{payout_id}", "payout_paid", (PAYOUTS, -net), (GATEWAY_CLEARING, net)
    )


def payout_failed(payout_id: int, mentor_id: int, amount: int, tds: int) -> Transaction:
    """The transfer failed: the whole amount goes back to the wallet, the TDS with it."""
    return _transaction(
        f"payout_failed:{payout_id}",
        "payout_failed",
        (PAYOUTS, -(amount - tds)),
        (TDS_PAYABLE, -tds),
        (wallet(mentor_id), amount),
    )


def tds_on(amount: int, paid_this_year: int, *, threshold: int, percent: int) -> int:
    """TDS on a payout: `percent` of it once the year's payouts, this one included, pass
    `threshold` (both in paise)."""
    if paid_this_year + amount <= threshold:
        return 0
    return (amount * percent + 50) // 100


@dataclass
class Ledger:
    """An in-memory ledger with the same rules as the database one: for tests and reports."""

    transactions: dict[str, Transaction] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def post(self, transaction: Transaction) -> bool:
        """Records the transaction once; False when its key was already posted."""
        if transaction.key in self.transactions:
            return False
        self.transactions[transaction.key] = transaction
        for entry in transaction.entries:
            self.balances[entry.account] += entry.amount_paise
        return True

    def balance(self, account: str) -> int:
        return self.balances.get(account, 0)

    def total(self) -> int:
        return sum(self.balances.values())

    def accounts(self, prefix: str) -> Iterable[tuple[str, int]]:
        return ((a, b) for a, b in self.balances.items() if a.startswith(prefix))
