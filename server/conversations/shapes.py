"""How a message and a conversation look in the API and on the live socket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.conversations.markdown import render
from server.db.models import Attachment, Booking, ChatLine, User
from server.http.formats import iso


@dataclass(frozen=True)
class Posted:
    """A message and the file sent with it, if any."""

    line: ChatLine
    attachment: Attachment | None = None


@dataclass(frozen=True)
class Summary:
    booking: Booking
    other: User
    last: Posted | None
    unread: int


def attachment_url(attachment: Attachment) -> str:
    return f"/api/conversations/{attachment.booking_id}/attachments/{attachment.id}"


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "image": attachment.content_type.startswith("image/"),
        "url": attachment_url(attachment),
    }


def message_json(posted: Posted, booking: Booking) -> dict[str, Any]:
    line = posted.line
    return {
        "id": line.id,
        "booking_id": line.booking_id,
        "sender_id": line.sender_id,
        "from": "mentor" if line.sender_id == booking.mentor_id else "mentee",
        "text": line.text,
        "html": str(render(line.text)),
        "at": iso(line.at),
        "attachment": attachment_json(posted.attachment) if posted.attachment else None,
        "drafted_by_assistant": bool(line.drafted_by_assistant),
    }


def summary_json(item: Summary) -> dict[str, Any]:
    return {
        "booking_id": item.booking.id,
        "topic": item.booking.topic,
        "starts_at": iso(item.booking.starts_at),
        "other": {"id": item.other.id, "name": item.other.name},
        "last_message": message_json(item.last, item.booking) if item.last else None,
        "unread": item.unread,
    }
