"""Notifications and mail through the real app and a real SMTP server."""
