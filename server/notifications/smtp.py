"""Sending one mail over SMTP with aiosmtplib, as `[email]` says (STARTTLS, TLS or plain)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from server.config import EmailSettings
from server.notifications.service import Send


def smtp_sender(settings: EmailSettings) -> Send | None:
    """The sender for the configured server; None when no server is configured."""
    if not settings.host:
        return None

    async def send(message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=settings.host,
            port=settings.port,
            username=settings.username or None,
            password=settings.password or None,
            use_tls=settings.security == "tls",
            start_tls=settings.security == "starttls",
            timeout=settings.timeout_seconds,
        )

    return send
