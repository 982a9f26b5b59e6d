"""The account pages: register, log in, log out. They work without JavaScript."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from server.accounts.service import (
    ACCOUNTS,
    GENERIC_LOGIN_ERROR,
    PASSWORD_MIN,
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
from server.http.requests import client_address, read_form
from server.http.routes import RouteTable
from server.http.schema import BodyError, parse
from server.http.security import current_user, log_in, log_out, require_user
from server.http.templating import TEMPLATES

routes = RouteTable("pages")
DASHBOARD = "/dashboard"

ROLE_CHOICES = [
    ("mentee", "Learn from mentors", "Book short calls with people who have done it."),
    ("mentor", "Mentor others", "Apply to be listed; mentees book and pay for your time."),
    ("both", "Both", "Learn and mentor from one account."),
]


def safe_next(target: str | None) -> str:
    """A same-site path to go to after logging in; anything else goes to the dashboard.

    Browsers drop tabs and newlines anywhere in a URL, trim control characters and spaces, and
    read a backslash as a slash, so `/\t/evil.example` would leave the site. Rather than
    normalise as every browser does, refuse any such character, then require a plain path.
    """
    if not target or len(target) > 2000:
        return DASHBOARD
    if any(ch.isspace() or ch == "\\" or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return DASHBOARD
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return DASHBOARD
    return target


async def form_fields(request: web.Request, names: tuple[str, ...]) -> dict[str, Any]:
    form = await read_form(request)
    return {name: form[name] for name in names if isinstance(form.get(name), str)}


@routes.page("/register", "The registration form")
async def register_page(request: web.Request) -> web.StreamResponse:
    if current_user(request):
        raise web.HTTPSeeOther("/dashboard")
    role = request.query.get("role", "")  # "Become a mentor" on the landing page asks for one
    chosen = {"role": role} if role in {value for value, _label, _hint in ROLE_CHOICES} else {}
    return await _register_form(request, chosen, {})


async def _register_form(
    request: web.Request,
    values: dict[str, Any],
    errors: dict[str, str],
    message: str = "",
    status: int = 200,
) -> web.Response:
    context = {
        "values": values,
        "errors": errors,
        "form_message": message,
        "roles": ROLE_CHOICES,
        "password_min": PASSWORD_MIN,
    }
    return await request.app[TEMPLATES].render(request, "register.html", context, status)


@routes.post("/register", "Submit the registration form", kind="redirect", errors=(400, 403, 409))
async def register_submit(request: web.Request) -> web.StreamResponse:
    values = await form_fields(request, ("name", "email", "password", "role"))
    try:
        registration = parse(Registration, values)
        user = await request.app[ACCOUNTS].register(registration, address=client_address(request))
    except BodyError as exc:
        field = exc.field or "form"
        message = _field_message(field, exc.message)
        return await _register_form(request, values, {field: message}, status=400)
    except EmailTaken:
        errors = {"email": "An account with this email exists. Log in instead."}
        return await _register_form(request, values, errors, status=409)
    except SignUpsThrottled as exc:
        message = f"Too many new accounts from your network. Try again in {_minutes(exc)}."
        return await _register_form(request, values, {}, message, status=429)
    await log_in(request, user)
    # A new mentor's next step is the application; a mentee's is the dashboard.
    raise web.HTTPSeeOther("/become-a-mentor" if user.role != "mentee" else "/dashboard")


def _field_message(field: str, message: str) -> str:
    if message == "is required":
        return {"role": "Choose what you want to do here."}.get(field, "Fill this in.")
    return message[0].upper() + message[1:] + "."


@routes.page("/login", "The login form")
async def login_page(request: web.Request) -> web.StreamResponse:
    if current_user(request):
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    next_path = safe_next(request.query.get("next"))
    return await _login_form(request, {}, {}, next_path=next_path)


async def _login_form(
    request: web.Request,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    next_path: str,
    message: str = "",
    status: int = 200,
) -> web.Response:
    context = {"values": values, "errors": errors, "form_message": message, "next": next_path}
    return await request.app[TEMPLATES].render(request, "login.html", context, status)


@routes.post("/login", "Submit the login form", kind="redirect", errors=(401, 403, 429))
async def login_submit(request: web.Request) -> web.StreamResponse:
    values = await form_fields(request, ("email", "password"))
    sent_next = (await read_form(request)).get("next")
    next_path = safe_next(sent_next if isinstance(sent_next, str) else None)
    errors = {name: "Fill this in." for name in ("email", "password") if not values.get(name)}
    if errors:
        return await _login_form(request, values, errors, next_path=next_path, status=400)
    try:
        user = await request.app[ACCOUNTS].login(
            Credentials(email=values["email"], password=values["password"]),
            client_address(request),
        )
    except LoginThrottled as exc:
        message = f"Too many failed attempts. Try again in {_minutes(exc)}."
        return await _login_form(
            request, values, {}, next_path=next_path, message=message, status=429
        )
    except InvalidCredentials:
        return await _login_form(
            request, values, {}, next_path=next_path, message=GENERIC_LOGIN_ERROR, status=401
        )
    except AccountSuspended:
        return await _login_form(
            request, values, {}, next_path=next_path, message=SUSPENDED_LOGIN_ERROR, status=403
        )
    await log_in(request, user)
    raise web.HTTPSeeOther(next_path)


@routes.post("/logout", "Log out", kind="redirect", errors=(403,))
async def logout_submit(request: web.Request) -> web.StreamResponse:
    await log_out(request)
    raise web.HTTPSeeOther("/")


def _minutes(exc: LoginThrottled | SignUpsThrottled) -> str:
    seconds = exc.retry_after_seconds
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


ACCOUNT_DONE = {
    "password": "Your password is changed. Every other device is logged out.",
    "campus": "A confirmation link is on its way to your campus address: open it to confirm.",
}


@routes.page("/account", "Your account: change the password, log out everywhere", login=True)
async def account_page(request: web.Request) -> web.Response:
    require_user(request)
    done = ACCOUNT_DONE.get(request.query.get("done", ""), "")
    return await _account_form(request, {}, done=done)


async def _account_form(
    request: web.Request,
    errors: dict[str, str],
    *,
    message: str = "",
    done: str = "",
    status: int = 200,
) -> web.Response:
    context = {
        "errors": errors,
        "form_message": message,
        "done": done,
        "password_min": PASSWORD_MIN,
    }
    return await request.app[TEMPLATES].render(request, "account.html", context, status)


@routes.post(
    "/account/password",
    "Submit the password change form",
    kind="redirect",
    errors=(400, 403, 429),
    login=True,
)
async def password_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    values = await form_fields(request, ("current_password", "new_password"))
    try:
        change = parse(PasswordChange, values)
        await request.app[ACCOUNTS].change_password(user, change, client_address(request))
    except BodyError as exc:
        field = exc.field or "form"
        return await _account_form(request, {field: _field_message(field, exc.message)}, status=400)
    except WrongPassword:
        errors = {"current_password": "That is not your current password."}
        return await _account_form(request, errors, status=400)
    except LoginThrottled as exc:
        message = f"Too many wrong passwords. Try again in {_minutes(exc)}."
        return await _account_form(request, {}, message=message, status=429)
    await log_in(request, user)
    raise web.HTTPSeeOther("/account?done=password")


@routes.post(
    "/account/logout-everywhere",
    "Log out on every device",
    kind="redirect",
    errors=(403,),
    login=True,
)
async def logout_everywhere_submit(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    await request.app[ACCOUNTS].end_sessions(user.id)
    await log_out(request)
    raise web.HTTPSeeOther("/login")
