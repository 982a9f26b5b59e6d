"""Errors as users see them: the JSON shape of API.md under /api, HTML pages elsewhere.

Every request gets an id (the X-Request-Id response header). A 5xx is logged with it and the
client sees the id, never a traceback.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from server.db.engine import database_unavailable, first_line

log = logging.getLogger("micromentor.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HtmlErrorRenderer = Callable[[web.Request, int, str, str], Awaitable[web.Response]]
HTML_ERRORS = web.AppKey("html_errors", HtmlErrorRenderer)
REQUEST_ID = web.RequestKey("request_id", str)
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error with a status, a stable code and a message; `field` names a bad input field."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def too_many(retry_after_seconds: int, what: str) -> ApiError:
    """A 429 for a rate limit: says what was too many and when to try again (Retry-After)."""
    wait = max(1, retry_after_seconds)
    return ApiError(
        429,
        "too_many_attempts",
        f"{what}; try again in {wait} seconds",
        headers={"Retry-After": str(wait)},
    )


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **{k: v for k, v in extra.items() if v}}}


def json_error(
    status: int, code: str, message: str, request_id: str, field: str | None = None
) -> web.Response:
    shown_id = request_id if status >= 500 else None
    return web.json_response(
        error_body(code, message, field=field, request_id=shown_id), status=status
    )


def is_api(request: web.Request) -> bool:
    """JSON answers (errors included) rather than pages: the API and the WebSockets."""
    return request.path.startswith(("/api/", "/ws/")) or request.path == "/api"


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get("X-Request-Id", "")
    request_id = incoming if _CLIENT_ID.match(incoming) else secrets.token_hex(8)
    request[REQUEST_ID] = request_id
    try:
        response = await handler(request)
    except ApiError as exc:
        response = await _render(request, exc.status, exc.code, exc.message, exc.field)
        response.headers.update(exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:  # redirects and the like are answers, not errors
            exc.headers["X-Request-Id"] = request_id
            raise
        if exc.status >= 500:
            log.error(
                "%s %s -> %s [request_id=%s]", request.method, request.path, exc.status, request_id
            )
        code = HTTP_CODES.get(exc.status, "error")
        # aiohttp's default text is "404: Not Found"; a handler's own text says more.
        default_text = f"{exc.status}: {exc.reason}"
        message = exc.text if exc.text and exc.text != default_text else _plain(request, exc)
        response = await _render(request, exc.status, code, message, None)
        if exc.status == 405 and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
    except (OverflowError, RecursionError, UnicodeError) as exc:
        # Input the validation layer should have refused: still the client's fault, so a 400,
        # and one line in the log (no traceback) so that the gap gets closed.
        log.warning(
            "%s %s: unvalidated input reached %s [request_id=%s]",
            request.method,
            request.path,
            type(exc).__name__,
            request_id,
        )
        response = await _render(
            request, 400, "bad_request", "a value in the request is out of range", None
        )
    except Exception as exc:
        unavailable = database_unavailable(exc)
        if unavailable is None:
            log.exception("%s %s failed [request_id=%s]", request.method, request.path, request_id)
        else:  # one line: while the database is down every request would log a traceback
            code, message, retry = unavailable
            log.warning(
                "%s %s -> 503 %s: %s [request_id=%s]",
                request.method,
                request.path,
                code,
                first_line(exc),
                request_id,
            )
            response = await _render(request, 503, code, message, None)
            response.headers["Retry-After"] = str(retry)
            response.headers["X-Request-Id"] = request_id
            return response
        response = await _render(
            request,
            500,
            "internal_error",
            f"Something went wrong on our side. Quote request id {request_id} when reporting it.",
            None,
        )
    response.headers["X-Request-Id"] = request_id
    return response


async def _render(
    request: web.Request, status: int, code: str, message: str, field: str | None
) -> web.Response:
    request_id = request[REQUEST_ID]
    if is_api(request) or _prefers_json(request):
        return json_error(status, code, message, request_id, field)
    renderer = request.app.get(HTML_ERRORS)
    if renderer is None:
        return web.Response(status=status, text=f"{status}: {message}")
    try:
        return await renderer(request, status, code, message)
    except Exception:  # the error page itself failed: still answer, still no traceback
        log.exception("error page failed [request_id=%s]", request_id)
        return web.Response(status=status, text=f"{status}: {message}")


def _plain(request: web.Request, exc: web.HTTPException) -> str:
    if exc.status == 404:
        return f"There is nothing at {request.path}."
    if exc.status == 405:
        return f"{request.method} is not allowed on {request.path}."
    return exc.reason


def _prefers_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


async def read_json(request: web.Request) -> Any:
    """The request's JSON body; 415 for another content type, 400 naming where JSON broke."""
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = await request.read()
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "malformed_json",
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
        ) from None
    except RecursionError:
        raise ApiError(400, "malformed_json", "the JSON is nested too deeply") from None
    except ValueError as exc:  # an integer of thousands of digits
        raise ApiError(400, "malformed_json", f"malformed JSON: {exc}") from None
