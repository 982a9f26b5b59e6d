"""Accounts: registration, login and its throttling, passwords; their API and pages."""
