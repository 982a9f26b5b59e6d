"""Ephemeral TURN credentials in coturn's REST scheme (use-auth-secret).

The username is "<expiry unix time>:<user id>"; the password is the base64 HMAC-SHA1 of the
username under the secret coturn shares. coturn refuses them after the expiry, so clocks of the
app and coturn hosts must agree (NTP).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class TurnCredential:
    username: str
    password: str
    expires: int


def ephemeral(secret: str, user_id: int | str, expires: int) -> TurnCredential:
    username = f"{expires}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode(), expires)


def turn_urls(host: str, port: int, tls_port: int) -> list[str]:
    """UDP and TCP on the plain port; TLS (turns:) where configured, for UDP-blocking networks."""
    target = f"[{host}]" if ":" in host else host
    urls = [f"turn:{target}:{port}?transport=udp", f"turn:{target}:{port}?transport=tcp"]
    if tls_port:
        urls.append(f"turns:{target}:{tls_port}?transport=tcp")
    return urls
