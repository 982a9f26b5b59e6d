"""`demo-call`: two demo accounts and a confirmed call starting now, to try a call at once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web
from sqlalchemy import select

from server.accounts.service import Accounts, Registration, normalize_email
from server.config import Config
from server.db.models import Booking, User
from signaling.token import JoinClaims, sign

DEMO_MENTOR = "demo-mentor@micromentor.test"
DEMO_MENTEE = "demo-mentee@micromentor.test"
DEMO_LINK_SECONDS = 3600
DEMO_LOGIN = b"demo-login"
# The key that signs demo links; app.py derives it from the secret key.
DEMO_KEY = web.AppKey("demo_key", bytes)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str


@dataclass(frozen=True)
class DemoCall:
    booking_id: int
    mentor: DemoLogin
    mentee: DemoLogin
    urls: dict[str, str]


async def create_demo_call(
    accounts: Accounts, config: Config, demo_key: bytes, *, record: bool = False
) -> DemoCall:
    mentor = await _demo_user(accounts, DEMO_MENTOR, "Demo Mentor", "mentor")
    mentee = await _demo_user(accounts, DEMO_MENTEE, "Demo Mentee", "mentee")
    now = accounts.clock()
    async with accounts.db.write() as s:
        booking = Booking(
            mentor_id=mentor[0].id,
            mentee_id=mentee[0].id,
            starts_at=now,
            duration_seconds=config.calls.duration_seconds,
            status="confirmed",
            topic="Demo call",
            created_at=now,
            record=record,
        )
        s.add(booking)
        await s.flush()
        booking_id = booking.id
    expires = int((now + timedelta(seconds=DEMO_LINK_SECONDS)).timestamp())
    # Two host names give the two tabs separate cookie jars, so one browser can be both sides.
    bases = {"mentor": config.public_url, "mentee": _other_host(config.public_url)}
    urls = {}
    for role, (user, _password) in (("mentor", mentor), ("mentee", mentee)):
        token = sign(demo_key, JoinClaims(booking_id, user.id, role, expires), DEMO_LOGIN)  # type: ignore[arg-type]
        urls[role] = f"{bases[role]}/demo-login?token={token}"
    return DemoCall(
        booking_id,
        DemoLogin(mentor[0].email, mentor[1]),
        DemoLogin(mentee[0].email, mentee[1]),
        urls,
    )


async def _demo_user(accounts: Accounts, email: str, name: str, role: str) -> tuple[User, str]:
    """The demo account, created or given a fresh password (printed, so it must be known)."""
    password = secrets.token_urlsafe(9)
    async with accounts.db.write() as s:
        user = await s.scalar(select(User).where(User.email == normalize_email(email)))
        if user is not None:
            user.password_hash = await accounts.passwords.hash(password)
            return user, password
    user = await accounts.register(
        Registration(email=email, password=password, name=name, role=role)  # type: ignore[arg-type]
    )
    return user, password


def _other_host(base: str) -> str:
    parts = urlsplit(base)
    host = parts.hostname or ""
    swap = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}.get(host)
    if swap is None:
        return base
    netloc = parts.netloc.replace(host, swap, 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
