"""Payments and payouts: orders, the ledger in the database, wallets, withdrawals, receipts."""
