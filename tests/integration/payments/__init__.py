"""Payments, the ledger and payouts, with the real razorpay SDK against a local fake."""
