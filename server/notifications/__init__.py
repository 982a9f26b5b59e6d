"""Notifications: what happened, told in the app and by mail (an outbox delivered over SMTP),
and reminders before calls from a durable jobs table."""
