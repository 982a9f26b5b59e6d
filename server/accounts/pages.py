"""The account pages: register, log in, log out. They work without JavaScript."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.accounts.service import (
    ACCOUNTS,
    GENERIC_LOGIN_ERROR,
    PASSWORD_MIN,
    Credentials,
    EmailTaken,
    InvalidCredentials,
    LoginThrottled,
    Registration,
)
from server.http.requests import client_address
from server.http.routes import RouteTable
from server.http.schema import BodyError, parse
from server.http.security import current_user, log_in, log_out
from server.http.templating import TEMPLATES

routes = RouteTable("pages")

ROLE_CHOICES = [
    ("mentee", "Learn from mentors", "Book short calls with people who have done it."),
    ("mentor", "Mentor others", "Apply to be listed; mentees book and pay for your time."),
    ("both", "Both", "Learn and mentor from one account."),
]


def safe_next(target: str | None) -> str:
    """Only same-site paths; anything else (//evil.example, https://…) goes to the dashboard."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/dashboard"


async def form_fields(request: web.Request, names: tuple[str, ...]) -> dict[str, Any]:
    form = await request.post()
    return {name: form[name] for name in names if isinstance(form.get(name), str)}


@routes.page("/register", "The registration form")
async def register_page(request: web.Request) -> web.StreamResponse:
    if current_user(request):
        raise web.HTTPSeeOther("/dashboard")
    return await _register_form(request, {}, {})


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
        user = await request.app[ACCOUNTS].register(registration)
    except BodyError as exc:
        field = exc.field or "form"
        message = _field_message(field, exc.message)
        return await _register_form(request, values, {field: message}, status=400)
    except EmailTaken:
        errors = {"email": "An account with this email exists. Log in instead."}
        return await _register_form(request, values, errors, status=409)
    await log_in(request, user)
    raise web.HTTPSeeOther("/dashboard")


def _field_message(field: str, message: str) -> str:
    if message == "is required":
        return {"role": "Choose what you want to do here."}.get(field, "Fill this in.")
    return message[0].upper() + message[1:] + "."


@routes.page("/login", "The login form")
async def login_page(request: web.Request) -> web.StreamResponse:
    if current_user(request):
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return await _login_form(request, {}, {}, next_path=request.query.get("next", ""))


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
    next_path = (await request.post()).get("next", "")
    next_path = next_path if isinstance(next_path, str) else ""
    errors = {name: "Fill this in." for name in ("email", "password") if not values.get(name)}
    if errors:
        return await _login_form(request, values, errors, next_path=next_path, status=400)
    try:
        user = await request.app[ACCOUNTS].login(
            Credentials(email=values["email"], password=values["password"]),
            client_address(request),
        )
    except LoginThrottled as exc:
        minutes = max(1, round(exc.retry_after_seconds / 60))
        message = f"Too many failed attempts. Try again in {minutes} minute(s)."
        return await _login_form(
            request, values, {}, next_path=next_path, message=message, status=429
        )
    except InvalidCredentials:
        return await _login_form(
            request, values, {}, next_path=next_path, message=GENERIC_LOGIN_ERROR, status=401
        )
    await log_in(request, user)
    raise web.HTTPSeeOther(safe_next(next_path))


@routes.post("/logout", "Log out", kind="redirect", errors=(403,))
async def logout_submit(request: web.Request) -> web.StreamResponse:
    await log_out(request)
    raise web.HTTPSeeOther("/")
