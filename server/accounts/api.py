"""The accounts API of API.md: register, login, logout, me."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web
from aiohttp_session import get_session

from server.accounts.service import (
    ACCOUNTS,
    GENERIC_LOGIN_ERROR,
    SUSPENDED_LOGIN_ERROR,
    AccountSuspended,
    Credentials,
    EmailTaken,
    InvalidCredentials,
    LoginThrottled,
    PasswordChange,
    Registration,
    SignUpsThrottled,
    WrongPassword,
)
from server.db.models import User
from server.http.errors import ApiError, too_many
from server.http.requests import client_address, read_body
from server.http.routes import RouteTable
from server.http.schema import BodyError
from server.http.security import csrf_token, log_in, log_out, require_user

routes = RouteTable("accounts")


@dataclass(frozen=True)
class UserOut:
    id: int
    email: str
    name: str
    role: str
    is_admin: bool
    created_at: str

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            is_admin=user.is_admin,
            created_at=user.created_at.isoformat().replace("+00:00", "Z"),
        )


@dataclass(frozen=True)
class UserResponse:
    user: UserOut


@dataclass(frozen=True)
class LoginResponse:
    user: UserOut
    csrf_token: str


def ok(payload: Any, status: int = 200) -> web.Response:
    return web.json_response(asdict(payload), status=status)


@routes.post(
    "/api/auth/register",
    "Create an account",
    body=Registration,
    response=UserResponse,
    status=201,
    errors=(400, 409, 415, 429),
    csrf=False,
)
async def register(request: web.Request) -> web.Response:
    body = await read_body(request, Registration)
    try:
        user = await request.app[ACCOUNTS].register(body, address=client_address(request))
    except BodyError as exc:
        raise ApiError(400, "invalid_field", exc.message, field=exc.field) from None
    except EmailTaken:
        raise ApiError(
            409, "email_taken", "an account with this email exists; log in instead", field="email"
        ) from None
    except SignUpsThrottled as exc:
        raise too_many(exc.retry_after_seconds, "too many new accounts from your address") from None
    return ok(UserResponse(UserOut.of(user)), 201)


@routes.post(
    "/api/auth/login",
    "Log in; sets the cookie, returns the CSRF token",
    body=Credentials,
    response=LoginResponse,
    errors=(400, 401, 403, 415, 429),
    csrf=False,
)
async def login(request: web.Request) -> web.Response:
    body = await read_body(request, Credentials)
    try:
        user = await request.app[ACCOUNTS].login(body, client_address(request))
    except LoginThrottled as exc:
        raise too_many(exc.retry_after_seconds, "too many failed logins") from None
    except InvalidCredentials:
        raise ApiError(401, "invalid_credentials", GENERIC_LOGIN_ERROR) from None
    except AccountSuspended:
        raise ApiError(403, "account_suspended", SUSPENDED_LOGIN_ERROR) from None
    token = await log_in(request, user)
    return ok(LoginResponse(UserOut.of(user), token))


@routes.post(
    "/api/auth/logout", "Log out: this login ends on the server", status=204, errors=(403,)
)
async def logout(request: web.Request) -> web.Response:
    await log_out(request)
    return web.Response(status=204)


@routes.post(
    "/api/auth/logout-everywhere",
    "End every login of your account, on every device, this one included",
    status=204,
    errors=(401, 403),
    login=True,
)
async def logout_everywhere(request: web.Request) -> web.Response:
    user = require_user(request)
    await request.app[ACCOUNTS].end_sessions(user.id)
    await log_out(request)
    return web.Response(status=204)


@routes.post(
    "/api/auth/password",
    "Change your password; every other login ends, this one gets a new cookie and CSRF token",
    body=PasswordChange,
    response=LoginResponse,
    errors=(400, 401, 403, 415, 429),
    login=True,
)
async def change_password(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await read_body(request, PasswordChange)
    try:
        await request.app[ACCOUNTS].change_password(user, body, client_address(request))
    except BodyError as exc:
        raise ApiError(400, "invalid_field", exc.message, field=exc.field) from None
    except WrongPassword:
        raise ApiError(
            400, "wrong_password", "the current password is wrong", field="current_password"
        ) from None
    except LoginThrottled as exc:
        raise too_many(exc.retry_after_seconds, "too many wrong passwords") from None
    token = await log_in(request, user)
    return ok(LoginResponse(UserOut.of(user), token))


@routes.get(
    "/api/me",
    "The logged-in user and the CSRF token",
    response=LoginResponse,
    errors=(401,),
    login=True,
)
async def me(request: web.Request) -> web.Response:
    user = require_user(request)
    token = csrf_token(await get_session(request))
    return ok(LoginResponse(UserOut.of(user), token))
