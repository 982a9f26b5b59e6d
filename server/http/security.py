"""Login sessions, the current user, and CSRF protection.

A login is a row on the server (the accounts domain keeps them); the encrypted cookie carries
its random token and the CSRF token. Logging out, changing the password or "log out
everywhere" delete rows, so a copied cookie stops working at once.

API requests that change state carry the X-CSRF-Token header; HTML forms carry a hidden
`csrf_token` field. Both must equal the token kept in the login session. Login and register are
exempt on the API: they accept only application/json, which a cross-site form cannot send.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Protocol
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp_session import Session, get_session, new_session
from aiohttp_session import setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from server.config import CONFIG
from server.db.models import User
from server.http.errors import ApiError, Handler, is_api
from server.http.requests import is_https, read_form


class LoginStore(Protocol):
    """Where logins live; the accounts domain provides it (see app.py)."""

    async def start_session(self, user_id: int) -> str: ...

    async def session_user(self, token: str) -> User | None: ...

    async def end_session(self, token: str) -> None: ...


LOGINS = web.AppKey("logins", LoginStore)
CSRF_EXEMPT = web.AppKey("csrf_exempt", set[str])
# More origins that are this site (the nodes sharing its database), kept up to date in place.
SITE_ORIGINS = web.AppKey("site_origins", set[str])
USER = web.RequestKey("user", "User | None")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
COOKIE_NAME = "micromentor"


class LoginCookie(EncryptedCookieStorage):
    """The encrypted cookie, marked Secure whenever the request came over HTTPS (directly or
    through a trusted proxy), and always when the public URL is https."""

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        await super().save_session(request, response, session)
        morsel = response.cookies.get(self.cookie_name)
        if morsel is not None and is_https(request):
            morsel["secure"] = True


def install_sessions(app: web.Application, secret_key: str, *, secure: bool, max_age: int) -> None:
    # The configured secret may be any long string; Fernet wants 32 url-safe base64 bytes.
    digest = hashlib.sha256(b"micromentor login cookie\0" + secret_key.encode()).digest()
    storage = LoginCookie(
        Fernet(base64.urlsafe_b64encode(digest)),
        cookie_name=COOKIE_NAME,
        httponly=True,
        samesite="Lax",
        secure=secure,
        max_age=max_age,
    )
    setup_sessions(app, storage)


def csrf_token(session: Session) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


async def log_in(request: web.Request, user: User) -> str:
    """Starts a fresh login (a new token and cookie, so no fixation); returns its CSRF token."""
    session = await new_session(request)
    session["login"] = await request.app[LOGINS].start_session(user.id)
    request[USER] = user
    return csrf_token(session)


async def log_out(request: web.Request) -> None:
    """Ends this browser's login on the server too, so the old cookie is worthless."""
    session = await get_session(request)
    token = session.get("login")
    if isinstance(token, str):
        await request.app[LOGINS].end_session(token)
    session.invalidate()
    request[USER] = None


def current_user(request: web.Request) -> User | None:
    user: User | None = request.get(USER)
    return user


def require_user(request: web.Request) -> User:
    """The logged-in user; a 401 under /api, a redirect to the login page elsewhere."""
    user = current_user(request)
    if user is not None:
        return user
    if is_api(request):
        raise ApiError(401, "unauthenticated", "log in first")
    raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")


def require_admin(request: web.Request) -> User:
    """The logged-in administrator; a 403 for anyone else."""
    user = require_user(request)
    if not user.is_admin:
        raise ApiError(403, "forbidden", "administrators only")
    return user


@web.middleware
async def user_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[USER] = None
    if not request.path.startswith("/static/"):
        session = await get_session(request)
        token = session.get("login")
        if isinstance(token, str):
            user = await request.app[LOGINS].session_user(token)
            if user is None:  # the login was ended or has expired; forget the cookie
                session.invalidate()
            request[USER] = user
    return await handler(request)


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in SAFE_METHODS or request.match_info.http_exception is not None:
        return await handler(request)  # reads, and requests the router refuses (404, 405)
    resource = request.match_info.route.resource
    if resource is not None and resource.canonical in request.app[CSRF_EXEMPT]:
        return await handler(request)
    session = await get_session(request)
    expected = session.get("csrf")
    if is_api(request):
        sent = request.headers.get("X-CSRF-Token", "")
    else:
        form = await read_form(request) if request.content_type in FORM_TYPES else {}
        sent_value = form.get("csrf_token", "")
        sent = sent_value if isinstance(sent_value, str) else ""
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected, sent):
        if is_api(request):
            raise ApiError(
                403, "csrf_failed", "missing or wrong X-CSRF-Token header (from /api/me)"
            )
        raise ApiError(
            403, "csrf_failed", "This form has expired. Go back, reload the page and try again."
        )
    return await handler(request)


FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def same_origin(request: web.Request) -> bool:
    """Browsers always send Origin on WebSockets; it must be this site."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser; the cookie and the token still apply
    allowed = {f"{request.scheme}://{request.host}"}
    configured = request.app[CONFIG].server.public_url
    if configured:
        parts = urlsplit(configured)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    # With several nodes, a page served by one opens its call socket on the node holding the
    # call: the live nodes' own URLs are this site too.
    return origin in allowed or origin in request.app.get(SITE_ORIGINS, ())
