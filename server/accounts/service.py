"""Accounts: registration, login with throttling, administrators. No HTTP in here but the
key the app stores the service under."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from aiohttp import web
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from server.accounts.passwords import Passwords
from server.clock import Clock
from server.config import AuthSettings
from server.db.engine import Database
from server.db.models import LoginFailure, User
from server.http.schema import BodyError

PASSWORD_MIN = 10
PASSWORD_MAX = 256
NAME_MAX = 100
EMAIL_MAX = 254
# Deliberately loose: one @, something on each side, a dot in the domain, no spaces.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
GENERIC_LOGIN_ERROR = "Wrong email or password."

Role = Literal["mentee", "mentor", "both"]


@dataclass(frozen=True)
class Registration:
    email: str = field(metadata={"max_length": EMAIL_MAX, "format": "email"})
    password: str = field(metadata={"min_length": PASSWORD_MIN, "max_length": PASSWORD_MAX})
    name: str = field(metadata={"min_length": 1, "max_length": NAME_MAX})
    role: Role = field(metadata={"description": "mentee, mentor, or both"})


@dataclass(frozen=True)
class Credentials:
    email: str = field(metadata={"max_length": EMAIL_MAX})
    password: str = field(metadata={"max_length": PASSWORD_MAX})


class EmailTaken(Exception):
    pass


class InvalidCredentials(Exception):
    pass


class LoginThrottled(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_registration(reg: Registration) -> Registration:
    """Checks beyond the schema; returns the registration with email and name normalised."""
    email = normalize_email(reg.email)
    if not EMAIL_PATTERN.match(email):
        raise BodyError("email", "is not an email address")
    name = " ".join(reg.name.split())
    if not name:
        raise BodyError("name", "must not be blank")
    check_password(reg.password, email)
    return Registration(email=email, password=reg.password, name=name, role=reg.role)


def check_password(password: str, email: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise BodyError("password", f"must be at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise BodyError("password", f"must be at most {PASSWORD_MAX} characters")
    if normalize_email(password) == email:
        raise BodyError("password", "must not be your email address")


class Accounts:
    def __init__(self, db: Database, passwords: Passwords, auth: AuthSettings, clock: Clock):
        self.db = db
        self.passwords = passwords
        self.auth = auth
        self.clock = clock

    async def register(self, reg: Registration, *, is_admin: bool = False) -> User:
        reg = check_registration(reg)
        password_hash = await self.passwords.hash(reg.password)
        user = User(
            email=reg.email,
            name=reg.name,
            password_hash=password_hash,
            role=reg.role,
            is_admin=is_admin,
            created_at=self.clock(),
        )
        try:
            async with self.db.write() as s:
                if await s.scalar(select(User.id).where(User.email == reg.email)) is not None:
                    raise EmailTaken(reg.email)
                s.add(user)
        except IntegrityError:  # a concurrent registration won the race for the email
            raise EmailTaken(reg.email) from None
        return user

    async def get(self, user_id: int) -> User | None:
        async with self.db.read() as s:
            return await s.get(User, user_id)

    async def by_email(self, email: str) -> User | None:
        async with self.db.read() as s:
            return await s.scalar(select(User).where(User.email == normalize_email(email)))

    async def login(self, creds: Credentials, address: str) -> User:
        """The user whose credentials these are; raises LoginThrottled or InvalidCredentials.

        Throttling is checked before the password, so a throttled attacker learns nothing.
        """
        email = normalize_email(creds.email)
        now = self.clock()
        await self._check_throttle(email, address, now)
        user = await self.by_email(email)
        ok = await self.passwords.verify(user.password_hash if user else None, creds.password)
        if user is None or not ok:
            await self._record_failure(email, address, now)
            raise InvalidCredentials()
        async with self.db.write() as s:
            await s.execute(delete(LoginFailure).where(LoginFailure.email == email))
            if self.passwords.needs_rehash(user.password_hash):
                fresh = await self.passwords.hash(creds.password)
                stored = await s.get(User, user.id)
                if stored is not None:
                    stored.password_hash = fresh
        return user

    async def _check_throttle(self, email: str, address: str, now: datetime) -> None:
        window = timedelta(seconds=self.auth.failure_window_seconds)
        since = now - window
        async with self.db.read() as s:
            for column, key, limit in (
                (LoginFailure.email, email, self.auth.max_failures_per_account),
                (LoginFailure.address, address, self.auth.max_failures_per_address),
            ):
                count, oldest = (
                    await s.execute(
                        select(func.count(), func.min(LoginFailure.at)).where(
                            column == key, LoginFailure.at > since
                        )
                    )
                ).one()
                if count >= limit:
                    retry = (oldest + window - now).total_seconds()
                    raise LoginThrottled(max(1, math.ceil(retry)))

    async def _record_failure(self, email: str, address: str, now: datetime) -> None:
        cutoff = now - timedelta(seconds=self.auth.failure_window_seconds)
        async with self.db.write() as s:
            await s.execute(delete(LoginFailure).where(LoginFailure.at <= cutoff))
            s.add(LoginFailure(email=email[:EMAIL_MAX], address=address[:64], at=now))

    async def make_admin(self, email: str, password: str | None, name: str | None) -> User:
        """Promotes an existing user (password then ignored) or creates an administrator."""
        email = normalize_email(email)
        async with self.db.write() as s:
            user = await s.scalar(select(User).where(User.email == email))
            if user is not None:
                user.is_admin = True
                return user
        if password is None:
            raise BodyError("password", "is required to create a new administrator")
        reg = Registration(
            email=email, password=password, name=name or email.split("@")[0], role="mentee"
        )
        return await self.register(reg, is_admin=True)


ACCOUNTS = web.AppKey("accounts", Accounts)
