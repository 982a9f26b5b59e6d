"""The assistant's API: a draft streamed as server-sent events, and posting an accepted draft.
With `[assistant] url` unset both answer 404 `assistant_off`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.client_exceptions import ClientConnectionResetError

from server.assistant.client import AssistantFailed, AssistantUnavailable, Reply
from server.assistant.service import ASSISTANT
from server.assistant.shapes import MAX_DRAFT_CHARS, AcceptDraft, DraftRequest, event
from server.conversations.shapes import message_json
from server.http.errors import ApiError
from server.http.requests import path_id, read_body
from server.http.routes import RouteTable
from server.http.security import require_user

log = logging.getLogger("micromentor.assistant")
routes = RouteTable("assistant")
C = r"{booking_id:\d+}"
EMPTY = "The assistant wrote nothing; try again"


@routes.post(
    f"/api/conversations/{C}/assistant/drafts",
    "Ask the assistant for a draft (an agenda before the call, a summary after it), streamed "
    "as server-sent events: `text` events carry the pieces, `done` ends with the draft's "
    "ticket, `error` ends a draft the model server broke off. Nothing is posted",
    body=DraftRequest,
    media_type="text/event-stream",
    errors=(403, 404, 409, 429, 502, 504),
    login=True,
)
async def draft(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    assistant = request.app[ASSISTANT]
    booking = await assistant.participant(user, path_id(request, "booking_id"))
    body = await read_body(request, DraftRequest)
    try:
        reply = await assistant.draft(user, booking, body.kind)
    except AssistantUnavailable as exc:
        log.warning("assistant: %s (booking %d)", exc.reason, booking.id)
        status = 504 if exc.timed_out else 502
        raise ApiError(status, "assistant_not_answering", exc.message) from None
    except AssistantFailed as exc:
        log.warning("assistant: status %s, %s (booking %d)", exc.status, exc.reason, booking.id)
        raise ApiError(502, "assistant_failed", exc.message) from None
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx: pass each piece on at once
        }
    )
    try:
        await response.prepare(request)
        await _stream(response, reply, booking.id)
        ticket = assistant.ticket(booking.id, user.id, body.kind)
        await response.write(event("done", {"kind": body.kind, "draft": ticket}))
        await response.write_eof()
    except _Ended:
        await _finish(response)
    except (ConnectionResetError, ClientConnectionResetError):
        pass  # the page went away; the model server's request is closed below
    except Exception:  # a bug: once the stream has begun, it ends with an error event
        if not response.prepared:
            raise
        log.exception("assistant: the draft failed (booking %d)", booking.id)
        with contextlib.suppress(ConnectionResetError, ClientConnectionResetError):
            await response.write(_error("assistant_failed", "The assistant had a problem"))
        await _finish(response)
    finally:
        reply.close()
    return response


class _Ended(Exception):
    """The draft ended with an error event."""


async def _stream(response: web.StreamResponse, reply: Reply, booking_id: int) -> None:
    """Writes the pieces as `text` events; a broken-off reply ends with an `error` event."""
    length = 0
    try:
        async for piece in _pieces(reply):
            if length + len(piece) > MAX_DRAFT_CHARS:
                piece = piece[: MAX_DRAFT_CHARS - length]
                await response.write(event("text", {"text": piece}))
                return  # long enough: the rest is not read
            length += len(piece)
            await response.write(event("text", {"text": piece}))
    except AssistantUnavailable as exc:
        log.warning("assistant: %s mid-draft (booking %d)", exc.reason, booking_id)
        await response.write(_error("assistant_not_answering", exc.message))
        raise _Ended from None
    except AssistantFailed as exc:
        log.warning("assistant: %s mid-draft (booking %d)", exc.reason, booking_id)
        await response.write(_error("assistant_failed", exc.message))
        raise _Ended from None
    if length == 0:
        await response.write(_error("assistant_empty", EMPTY))
        raise _Ended


async def _pieces(reply: Reply) -> AsyncIterator[str]:
    if reply.first:
        yield reply.first
    async for piece in reply.rest():
        yield piece


def _error(code: str, message: str) -> bytes:
    return event("error", {"error": {"code": code, "message": message}})


async def _finish(response: web.StreamResponse) -> None:
    with contextlib.suppress(ConnectionResetError, ClientConnectionResetError):
        await response.write_eof()


@routes.post(
    f"/api/conversations/{C}/assistant/accept",
    "Post a draft the assistant wrote (edited or not) as your message, marked as drafted by "
    "the assistant",
    body=AcceptDraft,
    status=201,
    errors=(400, 403, 404, 429),
    login=True,
)
async def accept(request: web.Request) -> web.Response:
    user = require_user(request)
    assistant = request.app[ASSISTANT]
    booking = await assistant.participant(user, path_id(request, "booking_id"))
    body = await read_body(request, AcceptDraft)
    posted = await assistant.post(user, booking, body.draft, body.text)
    return web.json_response({"message": message_json(posted, booking)}, status=201)
