"""Accounts and the pages of no domain, through the real app."""
