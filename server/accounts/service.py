"""Accounts: registration, login with throttling, administrators. No HTTP in here but the
key the app stores the service under."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from aiohttp import web
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from server.accounts.passwords import Passwords
from server.accounts.weak_passwords import is_weak
from server.clock import Clock
from server.config import AuthSettings
from server.db.engine import Database
from server.db.models import LoginFailure, LoginSession, SignUp, User
from server.http.schema import BodyError

PASSWORD_MIN = 10
PASSWORD_MAX = 256
NAME_MAX = 100
EMAIL_MAX = 254
# Deliberately loose: one @, something on each side, a dot in the domain, no spaces.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
GENERIC_LOGIN_ERROR = "Wrong email or password."
SUSPENDED_LOGIN_ERROR = (
    "This account is suspended by the administrators, so it cannot log in. "
    "Write to the team if you think this is a mistake."
)

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


@dataclass(frozen=True)
class PasswordChange:
    current_password: str = field(metadata={"max_length": PASSWORD_MAX})
    new_password: str = field(metadata={"min_length": PASSWORD_MIN, "max_length": PASSWORD_MAX})


class EmailTaken(Exception):
    pass


class InvalidCredentials(Exception):
    pass


class AccountSuspended(Exception):
    """The password was right, but an administrator suspended the account."""


class WrongPassword(Exception):
    """The current password given to change it was wrong."""


class SignUpsThrottled(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many new accounts; try again in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


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


def check_password(password: str, email: str, field_name: str = "password") -> None:
    if len(password) < PASSWORD_MIN:
        raise BodyError(field_name, f"must be at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise BodyError(field_name, f"must be at most {PASSWORD_MAX} characters")
    weakness = is_weak(password, email)
    if weakness:
        raise BodyError(field_name, weakness)


def token_digest(token: str) -> str:
    """What the database keeps of a login token: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, db: Database, passwords: Passwords, auth: AuthSettings, clock: Clock):
        self.db = db
        self.passwords = passwords
        self.auth = auth
        self.clock = clock

    async def register(
        self, reg: Registration, *, is_admin: bool = False, address: str | None = None
    ) -> User:
        """A new account; with `address`, at most [auth] max_registrations_per_address from
        it in the registration window (SignUpsThrottled past that)."""
        reg = check_registration(reg)
        if address is not None:
            await self._check_sign_ups(address)
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
                if address is not None:
                    s.add(SignUp(address=address[:64], at=self.clock()))
        except IntegrityError:  # a concurrent registration won the race for the email
            raise EmailTaken(reg.email) from None
        return user

    async def _check_sign_ups(self, address: str) -> None:
        window = timedelta(seconds=self.auth.registration_window_seconds)
        now = self.clock()
        async with self.db.write() as s:
            await s.execute(delete(SignUp).where(SignUp.at <= now - window))
            count, oldest = (
                await s.execute(
                    select(func.count(), func.min(SignUp.at)).where(SignUp.address == address[:64])
                )
            ).one()
        if count >= self.auth.max_registrations_per_address:
            raise SignUpsThrottled(max(1, math.ceil((oldest + window - now).total_seconds())))

    async def get(self, user_id: int) -> User | None:
        async with self.db.read() as s:
            return await s.get(User, user_id)

    async def by_email(self, email: str) -> User | None:
        async with self.db.read() as s:
            return await s.scalar(select(User).where(User.email == normalize_email(email)))

    async def login(self, creds: Credentials, address: str) -> User:
        """The user whose credentials these are; raises LoginThrottled, InvalidCredentials or
        (only after the right password) AccountSuspended.

        Throttling is checked before the password, so a throttled attacker learns nothing. It
        slows one account's guesses from one address (a growing wait) and all guesses from one
        address (a cap); it never locks the account, so wrong guesses from elsewhere cannot keep
        its owner out.
        """
        email = normalize_email(creds.email)
        user = await self._verified(email, creds.password, address)
        if user is None:
            raise InvalidCredentials()
        if user.suspended_at is not None:
            raise AccountSuspended()
        return user

    async def _verified(self, email: str, password: str, address: str) -> User | None:
        """The user if the password is theirs; records a failure otherwise."""
        now = self.clock()
        await self._check_throttle(email, address, now)
        user = await self.by_email(email)
        ok = await self.passwords.verify(user.password_hash if user else None, password)
        if user is None or not ok:
            await self._record_failure(email, address, now)
            return None
        async with self.db.write() as s:
            await s.execute(
                delete(LoginFailure).where(
                    LoginFailure.email == email, LoginFailure.address == address[:64]
                )
            )
            if self.passwords.needs_rehash(user.password_hash):
                fresh = await self.passwords.hash(password)
                stored = await s.get(User, user.id)
                if stored is not None:
                    stored.password_hash = fresh
        return user

    async def _check_throttle(self, email: str, address: str, now: datetime) -> None:
        auth = self.auth
        window = timedelta(seconds=auth.failure_window_seconds)
        since = now - window
        address = address[:64]
        async with self.db.read() as s:
            count, oldest = (
                await s.execute(
                    select(func.count(), func.min(LoginFailure.at)).where(
                        LoginFailure.address == address, LoginFailure.at > since
                    )
                )
            ).one()
            if count >= auth.max_failures_per_address:
                raise LoginThrottled(max(1, math.ceil((oldest + window - now).total_seconds())))
            count, latest = (
                await s.execute(
                    select(func.count(), func.max(LoginFailure.at)).where(
                        LoginFailure.email == email,
                        LoginFailure.address == address,
                        LoginFailure.at > since,
                    )
                )
            ).one()
        if count >= auth.failures_before_backoff:
            wait = min(2 ** (count - auth.failures_before_backoff), auth.max_backoff_seconds)
            retry = (latest + timedelta(seconds=wait) - now).total_seconds()
            if retry > 0:
                raise LoginThrottled(max(1, math.ceil(retry)))

    async def _record_failure(self, email: str, address: str, now: datetime) -> None:
        cutoff = now - timedelta(seconds=self.auth.failure_window_seconds)
        async with self.db.write() as s:
            await s.execute(delete(LoginFailure).where(LoginFailure.at <= cutoff))
            s.add(LoginFailure(email=email[:EMAIL_MAX], address=address[:64], at=now))

    # -- login sessions ------------------------------------------------------------------------

    async def start_session(self, user_id: int) -> str:
        """A new login for the user; returns the token the cookie carries."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        async with self.db.write() as s:
            s.add(
                LoginSession(
                    id=token_digest(token),
                    user_id=user_id,
                    created_at=now,
                    expires_at=now + timedelta(days=self.auth.login_days),
                )
            )
        return token

    async def session_user(self, token: str) -> User | None:
        """The user a login token belongs to, while the login lasts and the account is not
        suspended (suspending ends the logins too; this holds even if one survived)."""
        async with self.db.read() as s:
            return await s.scalar(
                select(User)
                .join(LoginSession, LoginSession.user_id == User.id)
                .where(
                    LoginSession.id == token_digest(token),
                    LoginSession.expires_at > self.clock(),
                    User.suspended_at.is_(None),
                )
            )

    async def end_session(self, token: str) -> None:
        async with self.db.write() as s:
            await s.execute(delete(LoginSession).where(LoginSession.id == token_digest(token)))

    async def end_sessions(self, user_id: int) -> int:
        """Ends every login of the user, on every device; returns how many there were."""
        async with self.db.write() as s:
            result = await s.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
        return int(getattr(result, "rowcount", 0) or 0)

    async def purge_sessions(self) -> None:
        """Forgets logins that have expired (the sweeper calls this)."""
        async with self.db.write() as s:
            await s.execute(delete(LoginSession).where(LoginSession.expires_at <= self.clock()))

    async def change_password(self, user: User, change: PasswordChange, address: str) -> None:
        """Sets a new password after checking the current one (throttled like a login), and
        ends every login of the user; the caller starts a fresh one for this browser."""
        check_password(change.new_password, user.email, "new_password")
        if await self._verified(user.email, change.current_password, address) is None:
            raise WrongPassword()
        fresh = await self.passwords.hash(change.new_password)
        async with self.db.write() as s:
            stored = await s.get(User, user.id)
            if stored is not None:
                stored.password_hash = fresh
            await s.execute(delete(LoginSession).where(LoginSession.user_id == user.id))

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
