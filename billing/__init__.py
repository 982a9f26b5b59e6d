"""Money: prices, Razorpay orders and webhooks, the ledger and wallets, refunds, payouts, tax lines.

Knows nothing of media/; amounts are integer paise.
"""
