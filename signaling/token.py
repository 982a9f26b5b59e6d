"""The join token: signed, bound to one booking and one user, short-lived.

Format: base64url(JSON claims) "." base64url(HMAC-SHA256(key, claims)). Not a JWT: nothing to
negotiate, one algorithm, constant-time comparison.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from media.events import Role


class TokenError(Exception):
    """The token is malformed, forged, expired or for another booking."""


@dataclass(frozen=True)
class JoinClaims:
    booking_id: int
    user_id: int
    role: Role
    expires: int  # unix seconds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


JOIN = b"join"


def sign(key: bytes, claims: JoinClaims, purpose: bytes = JOIN) -> str:
    body = json.dumps(
        {"b": claims.booking_id, "u": claims.user_id, "r": claims.role, "e": claims.expires},
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(key, purpose + b"\0" + body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac)}"


def verify(
    key: bytes, token: str, *, booking_id: int | None, now: datetime, purpose: bytes = JOIN
) -> JoinClaims:
    """The token's claims; TokenError unless it is genuine, unexpired and for `booking_id`."""
    try:
        body_text, mac_text = token.split(".")
        body, mac = _unb64(body_text), _unb64(mac_text)
    except ValueError:
        raise TokenError("malformed token") from None
    expected = hmac.new(key, purpose + b"\0" + body, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        raise TokenError("bad token signature")
    try:
        raw = json.loads(body)
        claims = JoinClaims(int(raw["b"]), int(raw["u"]), raw["r"], int(raw["e"]))
    except (ValueError, KeyError, TypeError):
        raise TokenError("malformed token") from None
    if claims.role not in ("mentor", "mentee"):
        raise TokenError("malformed token")
    if booking_id is not None and claims.booking_id != booking_id:
        raise TokenError("the token is for another call")
    if claims.expires < now.timestamp():
        raise TokenError("the token has expired; fetch a new one from the join endpoint")
    return claims
