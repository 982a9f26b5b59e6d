"""The conversations API (PRD 9.4): the list, a conversation's messages, sending, reading."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import BodyPartReader, web

from server.conversations.attachments import (
    MAX_UPLOAD_BYTES,
    AttachmentRefused,
    Upload,
    download_headers,
    receive,
)
from server.conversations.service import CONVERSATIONS, MAX_MESSAGE_CHARS, NewMessage
from server.conversations.shapes import message_json, summary_json
from server.http.errors import ApiError
from server.http.requests import path_id, query_of, read_body
from server.http.routes import QueryParam, RouteTable
from server.http.security import require_user

routes = RouteTable("conversations")
C = r"{booking_id:\d+}"


@dataclass(frozen=True)
class HistoryQuery:
    before: int | None = field(default=None, metadata={"minimum": 1})
    limit: int = field(default=50, metadata={"minimum": 1, "maximum": 100})


@routes.get("/api/conversations", "Your conversations, the most recent first", login=True)
async def list_conversations(request: web.Request) -> web.Response:
    user = require_user(request)
    items = await request.app[CONVERSATIONS].of_user(user)
    return web.json_response(
        {
            "items": [summary_json(i) for i in items],
            "total": len(items),
            "unread": sum(i.unread for i in items),
        }
    )


@routes.get(
    f"/api/conversations/{C}/messages",
    "A conversation's messages, oldest first; `before` pages back",
    login=True,
    query=(
        QueryParam("before", "only messages older than this id", "integer"),
        QueryParam("limit", "at most this many, up to 100", "integer"),
    ),
)
async def list_messages(request: web.Request) -> web.Response:
    user = require_user(request)
    query: HistoryQuery = query_of(request, HistoryQuery)
    conversations = request.app[CONVERSATIONS]
    booking = await conversations.visible(user, path_id(request, "booking_id"))
    posted, older = await conversations.messages(booking, before=query.before, limit=query.limit)
    return web.json_response(
        {
            "items": [message_json(p, booking) for p in posted],
            "has_more": older,
            "read_by_other": await conversations.read_by_other(booking, user),
        }
    )


@routes.post(
    f"/api/conversations/{C}/messages",
    "Send a message (Markdown; at most 30 a minute)",
    body=NewMessage,
    status=201,
    errors=(429,),
    login=True,
)
async def send_message(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await read_body(request, NewMessage)
    conversations = request.app[CONVERSATIONS]
    booking = await conversations.visible(user, path_id(request, "booking_id"))
    posted = await conversations.send(user, booking, body.text)
    return web.json_response({"message": message_json(posted, booking)}, status=201)


@routes.put(
    f"/api/conversations/{C}/read",
    "Mark the conversation read (the other side sees it as seen)",
    status=204,
    login=True,
)
async def mark_read(request: web.Request) -> web.Response:
    user = require_user(request)
    conversations = request.app[CONVERSATIONS]
    booking = await conversations.visible(user, path_id(request, "booking_id"))
    await conversations.mark_read(user, booking)
    return web.Response(status=204)


@routes.post(
    f"/api/conversations/{C}/attachments",
    "Send a file (multipart fields `file` and optional `text`): JPEG, PNG, WebP, PDF or plain "
    "text, at most 10 MB, its type read from its content",
    status=201,
    errors=(400, 413, 415, 429),
    login=True,
)
async def send_attachment(request: web.Request) -> web.Response:
    user = require_user(request)
    conversations = request.app[CONVERSATIONS]
    booking = await conversations.visible(user, path_id(request, "booking_id"))
    if not request.content_type.startswith("multipart/"):
        raise ApiError(415, "unsupported_media_type", "send the file as multipart/form-data")
    if (request.content_length or 0) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "payload_too_large", "the file must be at most 10 MB", "file")
    text, upload = await _read_upload(request, conversations.files)
    if upload is None:
        raise ApiError(400, "invalid_field", "is required", "file")
    try:
        posted = await conversations.send(user, booking, text, upload)
    finally:
        upload.discard()  # a no-op once the message kept it
    return web.json_response({"message": message_json(posted, booking)}, status=201)


async def _read_upload(request: web.Request, directory: Path) -> tuple[str, Upload | None]:
    """The `text` and `file` fields of a multipart body, the file checked on the way in."""
    text, upload = "", None
    try:
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "text" and not text:
                text = await _text_field(part)
            elif part.name == "file" and upload is None:
                upload = await receive(part, directory)
    except BaseException as exc:
        if upload is not None:  # nothing half-received stays behind
            upload.discard()
        if isinstance(exc, AttachmentRefused):
            raise ApiError(exc.status, _code(exc.status), exc.message, "file") from None
        if isinstance(exc, (ValueError, AssertionError, UnicodeDecodeError)):
            raise ApiError(400, "malformed_form", "the multipart body could not be read") from None
        raise
    return text, upload


async def _text_field(part: BodyPartReader) -> str:
    raw = bytearray()
    while chunk := await part.read_chunk():
        raw += chunk
        if len(raw) > MAX_MESSAGE_CHARS * 4:
            raise ApiError(
                400, "invalid_field", f"must be at most {MAX_MESSAGE_CHARS} characters", "text"
            )
    return raw.decode()


def _code(status: int) -> str:
    return {413: "payload_too_large", 415: "unsupported_media_type"}.get(status, "invalid_file")


@routes.get(
    f"/api/conversations/{C}/attachments/{{attachment_id:\\d+}}",
    "Download a file of the conversation (always as a download, never shown as a page)",
    kind="text",
    media_type="application/octet-stream",
    errors=(401, 404),
    login=True,
)
async def download_attachment(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    attachment, path = await request.app[CONVERSATIONS].attachment(
        user, path_id(request, "booking_id"), path_id(request, "attachment_id")
    )
    headers = download_headers(attachment.name, attachment.content_type)
    return web.FileResponse(path, headers=headers)
