"""Disputes: a mentee's complaint about a call and the administrator's decision, refunded
through the gateway and reversed in the ledger."""
